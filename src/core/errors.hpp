#pragma once
// Herald's error codes. Nothing on the data path throws across an interface:
// functions return Result<T> (boost::system::result) carrying one of these.
#include <exception>
#include <string>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace herald {

enum class Errc {
  ok = 0,
  invalid_argument,    ///< malformed input from a client
  unauthorized,        ///< missing, malformed or rejected token
  forbidden,           ///< authenticated but not allowed
  not_found,           ///< unknown id or resource
  transport_failure,   ///< the storage/bus failed
  closed,              ///< the object was closed
  not_supported,       ///< the engine does not provide this part (the hub supplies it)
};

const boost::system::error_category& herald_category() noexcept;

inline boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), herald_category()};
}

template <class T>
using Result = boost::system::result<T>;

/// what() of an exception caught as an exception_ptr ("unknown" when it is not a std::exception).
std::string describe_exception(std::exception_ptr e);

}  // namespace herald

namespace boost::system {
template <>
struct is_error_code_enum<herald::Errc> : std::true_type {};
}  // namespace boost::system
