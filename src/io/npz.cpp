// .npz = ZIP archive of <key>.npy members (np.savez). libzip handles ZIP and Zip64, stored and
// deflated members, and CRC checks; we add the .npy rules and the bounds on what we allocate.
#include <cstring>
#include <memory>
#include <set>

#include <zip.h>

#include "adacomp/error.hpp"
#include "adacomp/tensor_file.hpp"

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

}  // namespace

std::vector<Tensor> parse_npz(std::span<const std::byte> bytes, const std::string& source,
                              std::optional<DType> void2_dtype) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* input = zip_source_buffer_create(bytes.data(), bytes.size(), 0, &error);
  if (!input) fail_input(source + ": cannot read as .npz: " + zip_error_strerror(&error));
  std::unique_ptr<zip_t, ArchiveCloser> archive(zip_open_from_source(input, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!archive) {
    zip_source_free(input);
    const std::string why = zip_error_strerror(&error);
    zip_error_fini(&error);
    fail_input(source + ": not a valid .npz (ZIP) archive: " + why);
  }
  zip_error_fini(&error);

  const zip_int64_t count = zip_get_num_entries(archive.get(), 0);
  std::vector<Tensor> tensors;
  std::set<std::string> keys;
  for (zip_int64_t i = 0; i < count; ++i) {
    zip_stat_t stat;
    if (zip_stat_index(archive.get(), static_cast<zip_uint64_t>(i), 0, &stat) != 0 || !(stat.valid & ZIP_STAT_NAME) ||
        !(stat.valid & ZIP_STAT_SIZE))
      fail_input(source + ": cannot read entry " + std::to_string(i) +
                 " of the archive: " + zip_strerror(archive.get()));
    const std::string member = stat.name;
    const std::string context = source + ": member '" + member + "'";
    if (member.size() <= 4 || member.compare(member.size() - 4, 4, ".npy") != 0)
      fail_input(context + " is not a .npy array (np.savez writes <key>.npy members)");
    const std::string key = member.substr(0, member.size() - 4);
    if (!keys.insert(key).second) fail_input(context + " appears twice in the archive");
    const std::vector<std::byte> data = read_member(archive.get(), static_cast<zip_uint64_t>(i), stat.size, context);
    tensors.push_back(parse_npy(data, context, key, void2_dtype));
  }
  return tensors;
}

std::vector<std::byte> serialize_npz(const std::vector<Tensor>& tensors) {
  std::vector<std::vector<std::byte>> members;  // must outlive zip_close, which reads them
  members.reserve(tensors.size());
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (!buffer) throw Error(ErrorKind::internal, std::string("libzip: ") + zip_error_strerror(&error));
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (!archive) {
    zip_source_free(buffer);
    throw Error(ErrorKind::internal, std::string("libzip: ") + zip_error_strerror(&error));
  }
  zip_error_fini(&error);
  zip_source_keep(buffer);
  auto fail_zip = [&](const std::string& what) {
    const std::string why = zip_strerror(archive);
    zip_discard(archive);
    zip_source_free(buffer);
    throw Error(ErrorKind::internal, "writing .npz: " + what + ": " + why);
  };
  // A fixed timestamp keeps the output reproducible (NumPy writes 1980-01-01 too).
  constexpr time_t kFixedTime = 315576000;  // 1980-01-01 12:00 UTC, valid in every time zone
  for (const Tensor& tensor : tensors) {
    members.push_back(serialize_npy(tensor));
    zip_source_t* data = zip_source_buffer(archive, members.back().data(), members.back().size(), 0);
    if (!data) fail_zip(tensor.name);
    const zip_int64_t index = zip_file_add(archive, (tensor.name + ".npy").c_str(), data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(data);
      fail_zip(tensor.name);
    }
    if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(archive, static_cast<zip_uint64_t>(index), kFixedTime, 0) != 0)
      fail_zip(tensor.name);
  }
  if (zip_close(archive) != 0) fail_zip("closing the archive");

  std::vector<std::byte> out;
  if (zip_source_is_deleted(buffer)) {
    // No members: libzip writes nothing; an empty ZIP is just its end-of-central-directory record.
    out.assign(22, std::byte{0});
    const unsigned char eocd[4] = {'P', 'K', 5, 6};
    std::memcpy(out.data(), eocd, 4);
  } else {
    zip_stat_t stat;
    if (zip_source_stat(buffer, &stat) != 0 || zip_source_open(buffer) != 0) {
      zip_source_free(buffer);
      throw Error(ErrorKind::internal, "writing .npz: cannot read back the archive");
    }
    out.resize(stat.size);
    const zip_int64_t n = zip_source_read(buffer, out.data(), out.size());
    zip_source_close(buffer);
    if (n < 0 || static_cast<zip_uint64_t>(n) != stat.size) {
      zip_source_free(buffer);
      throw Error(ErrorKind::internal, "writing .npz: short read of the archive");
    }
  }
  zip_source_free(buffer);
  return out;
}

}  // namespace adacomp
