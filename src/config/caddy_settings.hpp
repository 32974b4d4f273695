#pragma once
// What the Mercure hub's Caddy configuration means in Herald's options: the `mercure {}`
// directives, the site address, `tls`, a few global options, and the Docker image's
// environment (SERVER_NAME, MERCURE_EXTRA_DIRECTIVES, ...) read as the image's Caddyfile
// reads it. Everything else of Caddy is named once in a notice and ignored.
#include <string>
#include <vector>

#include "config/caddyfile.hpp"

namespace herald {

/// One option (Herald's name, e.g. "publisher_jwt_key") and its value(s), as a source gave them.
struct CaddySetting {
  std::string option;
  std::vector<std::string> values;  ///< the directive's arguments; empty for a bare flag
  std::string origin;               ///< "Caddyfile:12", "environment MERCURE_EXTRA_DIRECTIVES"
};

struct CaddySettings {
  std::vector<CaddySetting> settings;  ///< in source order; the first of an option wins
  std::vector<std::string> notices;    ///< one line each, logged at start (what is ignored, and why)
};

/// The settings of a parsed Caddyfile: the first site with a `mercure` directive (found
/// also inside `route` and `handle` blocks) gives its directives, its address (addr) and
/// its `tls` (cert_file, key_file); the global `debug` and `admin` options are read.
/// Throws ConfigError (one line, with origin and line) for an unknown or malformed
/// mercure directive, or a file with no mercure directive at all.
CaddySettings settings_from_caddyfile(const Caddyfile& file, const std::string& origin);

/// Adds what the directives of a `mercure {}` block set (MERCURE_EXTRA_DIRECTIVES too).
void add_mercure_directives(const std::vector<CaddyDirective>& directives, const std::string& origin,
                            CaddySettings& out);

/// The listen address for a site's addresses as Caddy reads them (":80", "localhost",
/// "example.com:8443", "http://x", "https://x"): a port given wins; otherwise 443 with TLS
/// and 80 without. Herald listens on every interface, as Caddy does; a host name is not
/// matched against the Host header (noted), and a name without certificates is served in
/// plain HTTP (noted: Herald does no automatic HTTPS).
std::string listen_addr_for_site(const std::vector<std::string>& addresses, bool tls, const std::string& origin,
                                 std::vector<std::string>& notices);

/// The Docker image's environment, read as its Caddyfile reads it, for a hub started
/// without a Caddyfile: SERVER_NAME, MERCURE_EXTRA_DIRECTIVES, GLOBAL_OPTIONS (debug),
/// CADDY_SERVER_EXTRA_DIRECTIVES (tls), CADDY_EXTRA_CONFIG (ignored).
CaddySettings settings_from_image_env(const CaddyEnv& env);

}  // namespace herald
