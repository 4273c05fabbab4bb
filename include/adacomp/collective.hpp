#pragma once
// The few collective operations a replay spread over processes needs (MPI ranks under `mpirun`):
// the library is written against this interface, the program supplies an MPI implementation, and
// a single process is a world of size 1 (LocalCollective). Every rank calls each operation in the
// same order; an operation returns the same result on every rank.
#include <algorithm>
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adacomp/error.hpp"

namespace adacomp {

class Collective {
 public:
  virtual ~Collective() = default;
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  // Every rank's bytes, in rank order (sizes may differ).
  virtual std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> mine) = 0;
  // A float64 sum carried through the ranks in rank order: rank r receives the sum of ranks 0..r-1
  // in `sum` (zeros at rank 0), calls add(sum) to add its own part, and passes it on; every rank
  // returns with the sum of all ranks. Additions happen in rank order, so the result is what one
  // process adding every part in that order gets, bit for bit.
  virtual void ordered_sum(std::span<double> sum, const std::function<void(std::span<double>)>& add) = 0;
};

// One process: rank 0 of 1.
class LocalCollective final : public Collective {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  std::vector<std::vector<std::byte>> all_gather(std::span<const std::byte> mine) override {
    return {std::vector<std::byte>(mine.begin(), mine.end())};
  }
  void ordered_sum(std::span<double> sum, const std::function<void(std::span<double>)>& add) override {
    std::fill(sum.begin(), sum.end(), 0.0);
    add(sum);
  }
};

// Runs `work` on every rank and agrees on its outcome: when it threw an Error on any rank, every
// rank throws the Error of the lowest such rank (its kind; its message prefixed "rank R: " in a
// world of more than one), so that all ranks leave together with the same exit code.
void on_every_rank(Collective& collective, const std::function<void()>& work);

}  // namespace adacomp
