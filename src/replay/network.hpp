#pragma once
// The network what-if (replay-internal; format_spec/dump_layout.md, "Network what-if"): alpha-beta
// models of the exchange, fed with what the replay measured.
#include <cstdint>
#include <vector>

#include "adacomp/replay.hpp"

namespace adacomp::replay_detail {

// What the projection needs of a replay, per compressed (not warm-up) step, as means.
struct NetworkInputs {
  struct TensorInputs {
    std::uint64_t elements = 0;
    bool compressed = false;     // sent compressed in those steps (not --exclude)
    double density = 0;          // entries / elements, per learner
    double update_nonzeros = 0;  // of the averaged update, with the dump's learners
  };
  std::vector<double> learner_bytes;  // each learner's stream
  std::vector<TensorInputs> tensors;
  double encode = 0;             // one learner's encode of its stream
  double decode_per_stream = 0;  // one stream's decode
};

// From the replay's steps; empty learner_bytes when every step was a warm-up step.
NetworkInputs network_inputs(const ReplayResult& result);

// One setting for `learners` learners: the dump's own (measured: each learner's bytes, the
// update's measured nonzeros) or another count (each learner sends the mean bytes, and the
// update's nonzeros are those of independent positions, n (1 - (1 - density)^W)).
NetworkProjection project_network(const NetworkSetting& setting, const NetworkInputs& inputs, std::size_t learners,
                                  bool measured);

}  // namespace adacomp::replay_detail
