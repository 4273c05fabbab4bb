#pragma once
// A regular file mapped read-only into memory (library-internal): input tensors are read from
// the page cache in place instead of being copied into fresh memory, which on our machines costs
// several times the codec's own pass over the data (README, "Performance").
#include <cstddef>
#include <memory>
#include <span>
#include <string>

namespace adacomp::detail {

class MappedFile {
 public:
  // The whole of `path` mapped and its pages populated, or null where the path is not a
  // non-empty regular file (stdin, pipes, devices) or cannot be mapped: the caller reads it then.
  // Throws Error(io) naming the path if it cannot be opened.
  static std::unique_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const noexcept { return {data_, size_}; }
  const std::string& name() const noexcept { return name_; }

 private:
  MappedFile(const std::byte* data, std::size_t size, std::string name, int slot);
  const std::byte* data_;
  std::size_t size_;
  std::string name_;
  int slot_;
};

}  // namespace adacomp::detail
