#include "wire/payload_checks.hpp"

#include <array>
#include <cstdio>

#include <xxhash.h>
#include <zstd.h>

#include "adacomp/error.hpp"

namespace adacomp::wire {

void check_stored_size(const FrameInfo& info, const std::string& context) {
  if (!info.zstd && info.payload_stored_bytes != info.payload_raw_bytes)
    fail_input(context + ": payload size " + std::to_string(info.payload_stored_bytes) + " but the header implies " +
               std::to_string(info.payload_raw_bytes) + " bytes");
  if (info.zstd && (info.payload_stored_bytes == 0 || info.payload_stored_bytes >= info.payload_raw_bytes))
    fail_input(context + ": zstd payload size " + std::to_string(info.payload_stored_bytes) +
               " is not below the raw size " + std::to_string(info.payload_raw_bytes));
}

void verify_checksum(ByteInput& input, const std::vector<std::byte>& header, const std::vector<std::byte>& stored,
                     FrameInfo& info, const std::string& context) {
  std::array<std::byte, kChecksumBytes> checksum_bytes;
  input.read_exact(checksum_bytes, "checksum of " + info.label());
  info.checksum = load_le<std::uint32_t>(checksum_bytes.data());
  XXH64_state_t* state = XXH64_createState();
  XXH64_reset(state, 0);
  XXH64_update(state, header.data(), header.size());
  XXH64_update(state, stored.data(), stored.size());
  const auto computed = static_cast<std::uint32_t>(XXH64_digest(state));
  XXH64_freeState(state);
  if (computed != info.checksum)
    fail_input(context + ": checksum mismatch (stored " + hex32(info.checksum) + ", computed " + hex32(computed) +
               "): the frame is corrupt");
}

std::vector<std::byte> unzstd(const std::vector<std::byte>& stored, const FrameInfo& info, const std::string& context) {
  const unsigned long long content = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (content != info.payload_raw_bytes)
    fail_input(context + ": zstd section does not declare the raw payload size " +
               std::to_string(info.payload_raw_bytes));
  if (ZSTD_findFrameCompressedSize(stored.data(), stored.size()) != stored.size())
    fail_input(context + ": zstd section is not exactly one zstd frame");
  std::vector<std::byte> payload(info.payload_raw_bytes);
  const std::size_t size = ZSTD_decompress(payload.data(), payload.size(), stored.data(), stored.size());
  if (ZSTD_isError(size) || size != info.payload_raw_bytes)
    fail_input(context + std::string(": zstd section does not decode to the declared size: ") +
               (ZSTD_isError(size) ? ZSTD_getErrorName(size) : "size mismatch"));
  return payload;
}

}  // namespace adacomp::wire
