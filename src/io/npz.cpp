// .npz = ZIP archive of <key>.npy members (np.savez). Reading: libzip handles ZIP and Zip64,
// stored and deflated members and the directory checks; we add the .npy rules and the bounds on
// what we allocate. A stored float32 member of a file goes straight into its tensor and its
// CRC-32 is checked with libdeflate's (several times zlib's speed, which libzip uses).
// Writing: only stored members, which take ~150 lines below; libzip would copy every member
// through its own buffers and CRC pass, and could write only to a file or buffer of its own, not
// to our output (README, "Dependencies").
#include <cstring>
#include <memory>
#include <set>

#include <libdeflate.h>
#include <zip.h>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"
#include "io/tensor_layout.hpp"

namespace adacomp {

namespace {

struct ArchiveCloser {
  void operator()(zip_t* archive) const { zip_discard(archive); }
};
struct MemberCloser {
  void operator()(zip_file_t* file) const { zip_fclose(file); }
};

// Entries are read in chunks, growing the buffer as bytes actually arrive: a member that lies
// about its size cannot make us allocate more than it really inflates to.
std::vector<std::byte> read_member(zip_t* archive, zip_uint64_t index, zip_uint64_t declared,
                                   const std::string& context) {
  std::unique_ptr<zip_file_t, MemberCloser> file(zip_fopen_index(archive, index, 0));
  if (!file) fail_input(context + ": cannot open member: " + zip_strerror(archive));
  constexpr std::size_t kChunk = std::size_t{16} << 20;
  std::vector<std::byte> out;
  for (;;) {
    // Up to one byte past the declared size (to detect a longer member), at most a chunk at a time.
    const std::size_t step = static_cast<std::size_t>(
        std::min<zip_uint64_t>(kChunk, declared - std::min<zip_uint64_t>(declared, out.size()) + 1));
    const std::size_t old = out.size();
    out.resize(old + step);
    const zip_int64_t n = zip_fread(file.get(), out.data() + old, step);
    if (n < 0) fail_input(context + ": corrupt member: " + zip_file_strerror(file.get()));
    out.resize(old + static_cast<std::size_t>(n));
    if (n == 0) break;
    if (out.size() > declared) break;
  }
  if (out.size() != declared)
    fail_input(context + ": member holds " + std::to_string(out.size()) + " bytes but the archive declares " +
               std::to_string(declared));
  return out;
}

// CRC-32 of the bytes so far extended by `size` more; libdeflate returns its initial value for a
// null buffer (zlib's idiom), which an empty tensor's data may be.
std::uint32_t crc_after(std::uint32_t crc, const std::byte* data, std::size_t size) {
  return size == 0 ? crc : libdeflate_crc32(crc, data, size);
}

void append_bytes(std::vector<std::byte>& out, const std::string& text) {
  const auto* bytes = reinterpret_cast<const std::byte*>(text.data());
  out.insert(out.end(), bytes, bytes + text.size());
}

// Reads bytes [start, start + size) of a member, size > 0 and less than the member's size: a
// partial read, which libzip neither decompresses (the member is stored) nor CRC-checks.
void read_window(zip_t* archive, zip_uint64_t index, zip_uint64_t start, std::size_t size, std::byte* dst,
                 const std::string& context) {
  zip_source_t* window = zip_source_zip(archive, archive, index, 0, start, static_cast<zip_int64_t>(size));
  if (!window) fail_input(context + ": cannot open member: " + zip_strerror(archive));
  auto fail = [&] {
    const std::string why = zip_error_strerror(zip_source_error(window));
    zip_source_free(window);
    fail_input(context + ": corrupt member: " + why);
  };
  if (zip_source_open(window) != 0) fail();
  std::size_t done = 0;
  while (done < size) {
    const zip_int64_t n = zip_source_read(window, dst + done, size - done);
    if (n < 0) fail();
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  zip_source_close(window);
  zip_source_free(window);
  if (done != size)
    fail_input(context + ": member holds " + std::to_string(done) + " of the " + std::to_string(size) +
               " bytes the archive declares at offset " + std::to_string(start));
}

// A stored member holding a float32 little-endian C-order array, read into its tensor with no
// copy in between; nullopt for any other member (read the general way).
std::optional<Tensor> read_stored_float_member(zip_t* archive, zip_uint64_t index, const zip_stat_t& stat,
                                               const std::string& key, const std::string& context) {
  // Room for every header np.save writes for tensors of up to rank 8.
  constexpr std::size_t kProbeBytes = 4096;
  if (stat.size <= kProbeBytes) return std::nullopt;
  std::vector<std::byte> head(kProbeBytes);
  read_window(archive, index, 0, head.size(), head.data(), context);
  const std::size_t header_size = detail::npy_header_size(head, context);
  if (header_size > head.size()) return std::nullopt;
  const detail::NpyLayout layout = detail::parse_npy_layout(head, context, std::nullopt);
  if (layout.dtype != DType::f32 || layout.big_endian || (layout.fortran_order && layout.shape.size() > 1))
    return std::nullopt;
  detail::check_npy_data_size(layout, stat.size - layout.data_offset, context);
  Tensor tensor = detail::make_npy_tensor(layout, key);
  auto* data = reinterpret_cast<std::byte*>(tensor.values.data());
  const std::size_t in_head = head.size() - layout.data_offset;
  std::memcpy(data, head.data() + layout.data_offset, in_head);
  const auto rest = static_cast<std::size_t>(stat.size - head.size());
  read_window(archive, index, head.size(), rest, data + in_head, context);
  const std::uint32_t crc = crc_after(crc_after(0, head.data(), head.size()), data + in_head, rest);
  if (crc != stat.crc) fail_input(context + ": corrupt member: CRC error");
  return tensor;
}

std::vector<Tensor> read_members(zip_t* archive, const std::string& source, std::optional<DType> void_dtype,
                                 std::uint64_t archive_bytes) {
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  std::vector<Tensor> tensors;
  std::set<std::string> keys;
  for (zip_int64_t i = 0; i < count; ++i) {
    const auto index = static_cast<zip_uint64_t>(i);
    zip_stat_t stat;
    if (zip_stat_index(archive, index, 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME) || !(stat.valid & ZIP_STAT_SIZE))
      fail_input(source + ": cannot read entry " + std::to_string(i) + " of the archive: " + zip_strerror(archive));
    const std::string member = stat.name;
    const std::string context = source + ": member '" + member + "'";
    if (member.size() <= 4 || member.compare(member.size() - 4, 4, ".npy") != 0)
      fail_input(context + " is not a .npy array (np.savez writes <key>.npy members)");
    const std::string key = member.substr(0, member.size() - 4);
    if (!keys.insert(key).second) fail_input(context + " appears twice in the archive");
    // A stored member's bytes lie in the archive, so its declared size is bounded by the file's.
    const bool stored = (stat.valid & ZIP_STAT_COMP_METHOD) && stat.comp_method == ZIP_CM_STORE &&
                        (stat.valid & ZIP_STAT_CRC) && stat.size <= archive_bytes;
    if (stored)
      if (auto tensor = read_stored_float_member(archive, index, stat, key, context)) {
        tensors.push_back(std::move(*tensor));
        continue;
      }
    const std::vector<std::byte> data = read_member(archive, index, stat.size, context);
    tensors.push_back(parse_npy(data, context, key, void_dtype));
  }
  return tensors;
}

// Opens the archive in `input` (a source created with `error`, which this finishes) and reads
// its members.
std::vector<Tensor> read_archive(zip_source_t* input, zip_error_t& error, const std::string& source,
                                 std::optional<DType> void_dtype, std::uint64_t archive_bytes) {
  std::unique_ptr<zip_t, ArchiveCloser> archive(zip_open_from_source(input, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!archive) {
    zip_source_free(input);
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail_input(source + ": not a valid .npz (ZIP) archive: " + why);
  }
  zip_error_fini(&error);
  return read_members(archive.get(), source, void_dtype, archive_bytes);
}

}  // namespace

std::vector<Tensor> parse_npz(std::span<const std::byte> bytes, const std::string& source,
                              std::optional<DType> void_dtype) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* input = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!input) fail_input(source + ": cannot read as .npz: " + zip_error_strerror(&error));
  return read_archive(input, error, source, void_dtype, bytes.size());
}

std::vector<Tensor> detail::read_npz_file(const std::string& path, std::uint64_t size,
                                          std::optional<DType> void_dtype) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* input = zip_source_file_create(path.c_str(), 0, -1, &error);
  if (!input) fail_io(path + ": cannot open: " + zip_error_strerror(&error));
  return read_archive(input, error, path, void_dtype, size);
}

namespace {

// ZIP records (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.14-16, 4.5.3), all fields little-endian.
constexpr std::uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50, kEndOfDirectory = 0x06054b50,
                        kZip64EndOfDirectory = 0x06064b50, kZip64Locator = 0x07064b50;
constexpr std::uint32_t kNoField32 = 0xffffffff;  // the value lives in the Zip64 extra field
constexpr std::uint16_t kVersionZip64 = 45, kVersionStored = 20, kMadeByUnix = 3 << 8;
constexpr std::uint16_t kFlagUtf8 = 1 << 11;
// 1980-01-01 12:00:00 in MS-DOS form: a fixed timestamp keeps the output reproducible (NumPy
// writes 1980-01-01 too), and noon is that date in every time zone.
constexpr std::uint16_t kDosTime = 12 << 11, kDosDate = (0 << 9) | (1 << 5) | 1;
constexpr std::uint32_t kRegularFileMode = 0100644u << 16;

struct MemberRecord {
  std::string name;
  std::uint32_t crc;
  std::uint64_t size;
  std::uint64_t offset;
  std::uint64_t zip64_from;  // sizes and offsets from here on go in Zip64 fields
  bool big() const { return size >= zip64_from; }
  bool far() const { return offset >= zip64_from; }
  bool zip64() const { return big() || far(); }
  std::uint16_t flags() const {
    for (char c : name)
      if (static_cast<unsigned char>(c) >= 0x80) return kFlagUtf8;
    return 0;
  }
};

template <typename T>
void put(std::vector<std::byte>& out, std::uint64_t value) {
  append_le<T>(out, static_cast<T>(value));
}

std::vector<std::byte> local_header(const MemberRecord& member) {
  const bool zip64 = member.big();  // the offset is not in the local header
  std::vector<std::byte> out;
  put<std::uint32_t>(out, kLocalHeader);
  put<std::uint16_t>(out, zip64 ? kVersionZip64 : kVersionStored);
  put<std::uint16_t>(out, member.flags());
  put<std::uint16_t>(out, 0);  // stored
  put<std::uint16_t>(out, kDosTime);
  put<std::uint16_t>(out, kDosDate);
  put<std::uint32_t>(out, member.crc);
  put<std::uint32_t>(out, zip64 ? kNoField32 : member.size);
  put<std::uint32_t>(out, zip64 ? kNoField32 : member.size);
  put<std::uint16_t>(out, member.name.size());
  put<std::uint16_t>(out, zip64 ? 20 : 0);
  append_bytes(out, member.name);
  if (zip64) {
    put<std::uint16_t>(out, 1);  // the Zip64 extended information field
    put<std::uint16_t>(out, 16);
    put<std::uint64_t>(out, member.size);
    put<std::uint64_t>(out, member.size);
  }
  return out;
}

void append_central_header(std::vector<std::byte>& out, const MemberRecord& member) {
  const bool big = member.big(), far = member.far();
  const std::uint16_t extra = (big ? 16 : 0) + (far ? 8 : 0);
  put<std::uint32_t>(out, kCentralHeader);
  put<std::uint16_t>(out, kMadeByUnix | (member.zip64() ? kVersionZip64 : kVersionStored));
  put<std::uint16_t>(out, member.zip64() ? kVersionZip64 : kVersionStored);
  put<std::uint16_t>(out, member.flags());
  put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, kDosTime);
  put<std::uint16_t>(out, kDosDate);
  put<std::uint32_t>(out, member.crc);
  put<std::uint32_t>(out, big ? kNoField32 : member.size);
  put<std::uint32_t>(out, big ? kNoField32 : member.size);
  put<std::uint16_t>(out, member.name.size());
  put<std::uint16_t>(out, extra ? extra + 4 : 0);
  put<std::uint16_t>(out, 0);  // comment
  put<std::uint16_t>(out, 0);  // disk
  put<std::uint16_t>(out, 0);  // internal attributes
  put<std::uint32_t>(out, kRegularFileMode);
  put<std::uint32_t>(out, far ? kNoField32 : member.offset);
  append_bytes(out, member.name);
  if (extra) {
    put<std::uint16_t>(out, 1);
    put<std::uint16_t>(out, extra);
    if (big) {
      put<std::uint64_t>(out, member.size);
      put<std::uint64_t>(out, member.size);
    }
    if (far) put<std::uint64_t>(out, member.offset);
  }
}

void append_end_of_directory(std::vector<std::byte>& out, std::uint64_t entries, std::uint64_t directory_size,
                             std::uint64_t directory_offset, bool any_zip64, std::uint64_t zip64_from) {
  const bool zip64 = any_zip64 || entries >= 0xffff || directory_size >= zip64_from || directory_offset >= zip64_from;
  if (zip64) {
    const std::uint64_t record_offset = directory_offset + directory_size;
    put<std::uint32_t>(out, kZip64EndOfDirectory);
    put<std::uint64_t>(out, 44);  // the record's size after this field
    put<std::uint16_t>(out, kMadeByUnix | kVersionZip64);
    put<std::uint16_t>(out, kVersionZip64);
    put<std::uint32_t>(out, 0);
    put<std::uint32_t>(out, 0);
    put<std::uint64_t>(out, entries);
    put<std::uint64_t>(out, entries);
    put<std::uint64_t>(out, directory_size);
    put<std::uint64_t>(out, directory_offset);
    put<std::uint32_t>(out, kZip64Locator);
    put<std::uint32_t>(out, 0);
    put<std::uint64_t>(out, record_offset);
    put<std::uint32_t>(out, 1);
  }
  put<std::uint32_t>(out, kEndOfDirectory);
  put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, 0);
  put<std::uint16_t>(out, zip64 ? 0xffff : entries);
  put<std::uint16_t>(out, zip64 ? 0xffff : entries);
  put<std::uint32_t>(out, zip64 ? kNoField32 : directory_size);
  put<std::uint32_t>(out, zip64 ? kNoField32 : directory_offset);
  put<std::uint16_t>(out, 0);  // comment
}

}  // namespace

void write_npz(const std::vector<Tensor>& tensors, const ByteSink& sink) {
  detail::write_npz_records(tensors, sink, kNoField32);
}

void detail::write_npz_records(const std::vector<Tensor>& tensors, const ByteSink& sink, std::uint64_t zip64_from) {
  std::vector<MemberRecord> members;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  for (const Tensor& tensor : tensors) {
    MemberRecord member{tensor.name + ".npy", 0, 0, offset, zip64_from};
    if (!names.insert(member.name).second) fail_usage("cannot write tensor name '" + tensor.name + "' twice in .npz");
    if (member.name.size() > 0xffff) fail_usage("tensor name '" + tensor.name + "' is too long for .npz");
    const std::vector<std::byte> npy = npy_header(tensor);
    // The CRC goes in front of the data, so the data are read twice: once here, once written.
    std::uint32_t crc = crc_after(0, npy.data(), npy.size());
    detail::write_elements(tensor,
                           [&](std::span<const std::byte> piece) { crc = crc_after(crc, piece.data(), piece.size()); });
    member.crc = crc;
    member.size = npy.size() + tensor.size() * dtype_size(tensor.dtype);
    const std::vector<std::byte> header = local_header(member);
    sink(header);
    sink(npy);
    detail::write_elements(tensor, sink);
    offset += header.size() + member.size;
    members.push_back(std::move(member));
  }
  std::vector<std::byte> directory;
  bool any_zip64 = false;
  for (const MemberRecord& member : members) {
    append_central_header(directory, member);
    any_zip64 = any_zip64 || member.zip64();
  }
  const std::uint64_t directory_size = directory.size();
  append_end_of_directory(directory, members.size(), directory_size, offset, any_zip64, zip64_from);
  sink(directory);
}

std::vector<std::byte> serialize_npz(const std::vector<Tensor>& tensors) {
  return serialize_tensor_file(tensors, TensorFormat::npz);
}

}  // namespace adacomp
