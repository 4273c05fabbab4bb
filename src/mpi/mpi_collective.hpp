#pragma once
// The replay's collective operations over MPI (Open MPI's or any MPI's C API): what `mpirun -np P
// adacomp replay` runs on. Built only with ADACOMP_MPI; the library itself does not need MPI.
#include <memory>

#include "adacomp/collective.hpp"

namespace adacomp {

// True when this process was started by an MPI launcher (mpirun, mpiexec, srun): its environment
// says so. A process started otherwise replays alone and never initializes MPI.
bool launched_by_mpi();

// MPI_COMM_WORLD for the lifetime of the object: MPI is initialized by the constructor and
// finalized by the destructor (also when a replay leaves with an error, so that mpirun sees every
// rank end). At most one per process.
class MpiWorld final : public Collective {
 public:
  MpiWorld();
  ~MpiWorld() override;
  MpiWorld(const MpiWorld&) = delete;
  MpiWorld& operator=(const MpiWorld&) = delete;

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }
  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> mine) override;
  void ordered_sum(std::span<double> sum, const std::function<void(std::span<double>)>& add) override;

 private:
  std::size_t rank_ = 0, size_ = 1;
};

}  // namespace adacomp
