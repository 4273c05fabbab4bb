#include "adacomp/collective.hpp"

#include <cstring>

namespace adacomp {

void on_every_rank(Collective& collective, const std::function<void()>& work) {
  // An outcome travels as one byte (0: done, else the error's exit code) and the message.
  std::vector<std::byte> outcome(1, std::byte{0});
  try {
    work();
  } catch (const Error& e) {
    outcome[0] = std::byte(static_cast<unsigned char>(e.exit_code()));
    const std::string message = e.what();
    outcome.resize(1 + message.size());
    std::memcpy(outcome.data() + 1, message.data(), message.size());
  } catch (const std::exception& e) {
    // Anything else is a bug here; the other ranks must still learn of it and leave.
    const std::string message = std::string("internal error: ") + e.what();
    outcome.assign(1 + message.size(), std::byte{static_cast<unsigned char>(ErrorKind::internal)});
    std::memcpy(outcome.data() + 1, message.data(), message.size());
  }
  const auto outcomes = collective.all_gather(outcome);
  for (std::size_t r = 0; r < outcomes.size(); ++r) {
    const auto& o = outcomes[r];
    if (o.empty() || o[0] == std::byte{0}) continue;
    const std::string message(reinterpret_cast<const char*>(o.data()) + 1, o.size() - 1);
    const auto kind = static_cast<ErrorKind>(std::to_integer<int>(o[0]));
    throw Error(kind, collective.size() > 1 ? "rank " + std::to_string(r) + ": " + message : message);
  }
}

}  // namespace adacomp
