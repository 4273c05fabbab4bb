#include "mpi/mpi_collective.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace adacomp {

namespace {

// MPI counts are int: no call moves more than this many elements.
constexpr std::size_t kChunkBytes = std::size_t{1} << 30;

void check(int result, const char* what) {
  if (result != MPI_SUCCESS) throw Error(ErrorKind::io, std::string("MPI: ") + what + " failed");
}

}  // namespace

bool launched_by_mpi() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(variable)) return true;
  return false;
}

MpiWorld::MpiWorld() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) check(MPI_Init(nullptr, nullptr), "MPI_Init");
  // Errors come back as codes and become adacomp errors, rather than aborting the job.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  rank_ = static_cast<std::size_t>(rank);
  size_ = static_cast<std::size_t>(size);
}

MpiWorld::~MpiWorld() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::vector<std::vector<std::byte>> MpiWorld::all_gather(std::span<const std::byte> mine) {
  std::vector<unsigned long long> sizes(size_);
  unsigned long long my_size = mine.size();
  check(MPI_Allgather(&my_size, 1, MPI_UNSIGNED_LONG_LONG, sizes.data(), 1, MPI_UNSIGNED_LONG_LONG, MPI_COMM_WORLD),
        "MPI_Allgather of the message sizes");
  std::vector<std::vector<std::byte>> out(size_);
  for (std::size_t r = 0; r < size_; ++r) out[r].resize(sizes[r]);
  // In rounds that carry at most `share` bytes of each rank, so that no count or displacement of
  // a round exceeds INT_MAX.
  const std::size_t share = std::min<std::size_t>(kChunkBytes, INT_MAX / size_);
  const unsigned long long largest = *std::max_element(sizes.begin(), sizes.end());
  const std::size_t rounds = std::max<std::size_t>(1, (largest + share - 1) / share);
  std::vector<int> counts(size_), displacements(size_);
  std::vector<std::byte> received;
  for (std::size_t round = 0; round < rounds; ++round) {
    const unsigned long long at = round * static_cast<unsigned long long>(share);
    int total = 0;
    for (std::size_t r = 0; r < size_; ++r) {
      counts[r] = static_cast<int>(std::min<unsigned long long>(sizes[r] > at ? sizes[r] - at : 0, share));
      displacements[r] = total;
      total += counts[r];
    }
    received.resize(std::max(total, 1));
    const int my_count = counts[rank_];
    check(MPI_Allgatherv(my_count ? mine.data() + at : nullptr, my_count, MPI_BYTE, received.data(), counts.data(),
                         displacements.data(), MPI_BYTE, MPI_COMM_WORLD),
          "MPI_Allgatherv of the messages");
    for (std::size_t r = 0; r < size_; ++r)
      if (counts[r])
        std::memcpy(out[r].data() + at, received.data() + displacements[r], static_cast<std::size_t>(counts[r]));
  }
  return out;
}

void MpiWorld::ordered_sum(std::span<double> sum, const std::function<void(std::span<double>)>& add) {
  constexpr std::size_t chunk = kChunkBytes / sizeof(double);
  const int rank = static_cast<int>(rank_), last = static_cast<int>(size_) - 1;
  if (rank == 0)
    std::fill(sum.begin(), sum.end(), 0.0);
  else
    for (std::size_t at = 0; at < sum.size(); at += chunk)
      check(MPI_Recv(sum.data() + at, static_cast<int>(std::min(chunk, sum.size() - at)), MPI_DOUBLE, rank - 1, 0,
                     MPI_COMM_WORLD, MPI_STATUS_IGNORE),
            "MPI_Recv of the running sum");
  add(sum);
  if (rank < last)
    for (std::size_t at = 0; at < sum.size(); at += chunk)
      check(MPI_Send(sum.data() + at, static_cast<int>(std::min(chunk, sum.size() - at)), MPI_DOUBLE, rank + 1, 0,
                     MPI_COMM_WORLD),
            "MPI_Send of the running sum");
  for (std::size_t at = 0; at < sum.size(); at += chunk)
    check(MPI_Bcast(sum.data() + at, static_cast<int>(std::min(chunk, sum.size() - at)), MPI_DOUBLE, last,
                    MPI_COMM_WORLD),
          "MPI_Bcast of the sum");
}

}  // namespace adacomp
