#include "io/mapped_file.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"

namespace adacomp {

namespace {

// The mapped ranges and their file names, for mapped_file_at(), which a signal handler calls:
// fixed storage written before a range is published and read without locks.
constexpr std::size_t kMaxMapped = 16;
constexpr std::size_t kMaxName = 4096;
struct MappedSlot {
  std::atomic<std::uintptr_t> begin{0}, end{0};
  std::array<char, kMaxName> name{};
};
std::array<MappedSlot, kMaxMapped> g_mapped;
std::atomic_flag g_claimed[kMaxMapped] = {};

int publish(const void* data, std::size_t size, const std::string& name) {
  for (std::size_t i = 0; i < kMaxMapped; ++i) {
    if (g_claimed[i].test_and_set()) continue;
    MappedSlot& slot = g_mapped[i];
    const std::size_t length = std::min(name.size(), kMaxName - 1);
    std::memcpy(slot.name.data(), name.data(), length);
    slot.name[length] = '\0';
    slot.end.store(reinterpret_cast<std::uintptr_t>(data) + size);
    slot.begin.store(reinterpret_cast<std::uintptr_t>(data));
    return static_cast<int>(i);
  }
  return -1;  // not named in a SIGBUS report, still mapped
}

void withdraw(int index) {
  if (index < 0) return;
  g_mapped[index].begin.store(0);
  g_mapped[index].end.store(0);
  g_claimed[index].clear();
}

}  // namespace

const char* mapped_file_at(const void* address) noexcept {
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  for (const MappedSlot& slot : g_mapped) {
    const std::uintptr_t begin = slot.begin.load();
    if (begin != 0 && at >= begin && at < slot.end.load()) return slot.name.data();
  }
  return nullptr;
}

namespace detail {

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
  // Opening a FIFO would take its writer from the reader that follows: only regular files are
  // opened here.
  struct stat st;
  if (path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return nullptr;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) fail_io(path + ": cannot open: " + std::strerror(errno));
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    return nullptr;
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (data == MAP_FAILED) return nullptr;
  return std::unique_ptr<MappedFile>(
      new MappedFile(static_cast<const std::byte*>(data), size, path, publish(data, size, path)));
}

MappedFile::MappedFile(const std::byte* data, std::size_t size, std::string name, int slot)
    : data_(data), size_(size), name_(std::move(name)), slot_(slot) {}

MappedFile::~MappedFile() {
  withdraw(slot_);
  ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace detail
}  // namespace adacomp
