#pragma once
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/wire.hpp"

namespace test_support {

inline std::vector<std::byte> read_file(const std::filesystem::path& path) { return adacomp::read_all(path.string()); }

// All frames of a stream held in memory, decoded.
inline std::vector<adacomp::Tensor> decode_all(const std::vector<std::byte>& bytes, const std::string& name = "mem") {
  adacomp::MemoryInput input(bytes, name);
  adacomp::wire::StreamReader reader(input);
  std::vector<adacomp::Tensor> out;
  while (auto frame = reader.next()) out.push_back(adacomp::wire::decode_frame(*frame, name));
  return out;
}

// The message of the invalid_input error that decoding raises, or "" if it decodes.
inline std::string decode_error(const std::vector<std::byte>& bytes) {
  try {
    decode_all(bytes);
  } catch (const adacomp::Error& e) {
    if (e.kind() != adacomp::ErrorKind::invalid_input) return std::string("wrong error kind: ") + e.what();
    return e.what();
  }
  return "";
}

}  // namespace test_support
