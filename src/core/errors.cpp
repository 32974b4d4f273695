#include "core/errors.hpp"

namespace herald {
namespace {
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "herald"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::invalid_argument: return "invalid argument";
      case Errc::unauthorized: return "unauthorized";
      case Errc::forbidden: return "forbidden";
      case Errc::not_found: return "not found";
      case Errc::transport_failure: return "transport failure";
      case Errc::closed: return "closed";
      case Errc::not_supported: return "not supported";
    }
    return "unknown error";
  }
};
}  // namespace

const boost::system::error_category& herald_category() noexcept {
  static const Category category;
  return category;
}
std::string describe_exception(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown";
  }
}

}  // namespace herald
