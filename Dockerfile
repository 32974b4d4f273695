# Herald: a Mercure hub that runs as a cluster.
#   docker build -t herald .
#   docker run -p 80:80 -e MERCURE_PUBLISHER_JWT_KEY='!ChangeThisMercureHubJWTSecretKey!' \
#              -e MERCURE_SUBSCRIBER_JWT_KEY='!ChangeThisMercureHubJWTSecretKey!' herald
# Configured like the Mercure image: the same environment, the same Caddyfile paths
# (/etc/caddy/Caddyfile, /etc/caddy/dev.Caddyfile), the same `caddy run --config ...` command.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    && cmake --build /build --target herald -j "$(nproc)" \
    && strip /build/herald

FROM debian:12-slim
# The shared libraries the binary links (Debian 12 names), and curl for the health check.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
       libssl3 libnghttp2-14 liblmdb0 libhiredis0.14 libpq5 librdkafka1 libyaml-cpp0.7 libspdlog1.10 libfmt9 \
       libboost-url1.81.0 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home herald \
    && mkdir -p /data /config /etc/caddy \
    && chown herald:herald /data /config
COPY --from=build /build/herald /usr/bin/herald
COPY deploy/docker/caddy /usr/bin/caddy
COPY deploy/docker/Caddyfile deploy/docker/dev.Caddyfile /etc/caddy/
# The store (lmdb://herald-data) lives in /data, like the Mercure image's bolt file.
VOLUME /data
WORKDIR /data
USER herald
# The admin address serves the readiness and liveness routes the Mercure image serves on :2019.
ENV MERCURE_ADMIN_ADDR=:2019
EXPOSE 80 443 2019
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:2019/mercure/health/ready || exit 1
STOPSIGNAL SIGTERM
CMD ["/usr/bin/caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
