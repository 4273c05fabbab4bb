// The network what-if's alpha-beta models (format_spec/dump_layout.md, "Network what-if") against
// figures computed by hand, and the parsing of --network.
#include <doctest/doctest.h>

#include "adacomp/error.hpp"
#include "replay/network.hpp"

using namespace adacomp;
using namespace adacomp::replay_detail;

namespace {

// Two learners sending 1000 and 3000 bytes; a compressed tensor of 1000 elements at density 0.1
// whose averaged update has 150 nonzeros, and a passthrough tensor of 100 elements.
NetworkInputs two_learners() {
  NetworkInputs in;
  in.learner_bytes = {1000, 3000};
  in.tensors = {{1000, true, 0.1, 150}, {100, false, 0, 0}};
  in.encode = 1e-4;
  in.decode_per_stream = 5e-5;
  return in;
}

}  // namespace

TEST_CASE("--network takes a bandwidth in bits or bytes per second and a latency") {
  const NetworkSetting a = parse_network("10Gbit,5us");
  CHECK(a.bandwidth == doctest::Approx(1.25e9));
  CHECK(a.latency == doctest::Approx(5e-6));
  CHECK(parse_network("2GB/s").bandwidth == doctest::Approx(2e9));
  CHECK(parse_network("800Mbit").latency == 0.0);
  CHECK(parse_network("1.5gbit,2ms").latency == doctest::Approx(2e-3));
  for (const char* bad : {"", "10", "10Gbps,", "fast", "10Gbit,5", "0Gbit", "-1Gbit", "10Gbit,5us,1"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_network(bad), Error);
  }
}

TEST_CASE("the what-if's models give the hand-computed times for the measured learners") {
  // 8 Mbit/s = 1e6 bytes/s, latency 1 ms
  const NetworkSetting net{"8Mbit,1ms", 1e6, 1e-3};
  const NetworkProjection p = project_network(net, two_learners(), 2, true);
  // model bytes 4 * 1100 = 4400: dense ring all-reduce 2 (W-1) a + 2 (W-1)/W 4400 b
  CHECK(p.dense_allreduce == doctest::Approx(2e-3 + 4400e-6));
  // ring allgather: (W-1) a + (M - m_min) b = 1e-3 + 3000e-6
  CHECK(p.ring_allgather == doctest::Approx(1e-3 + 3000e-6));
  // update: min(8 * 150, 4000) + 4 * 100 = 1600 bytes; server: 2a + (M + W update) b
  CHECK(p.update_bytes == doctest::Approx(1600));
  CHECK(p.parameter_server == doctest::Approx(2e-3 + (4000 + 2 * 1600) * 1e-6));
  CHECK(p.encode == doctest::Approx(1e-4));
  CHECK(p.decode == doctest::Approx(1e-4));  // two streams
  CHECK(p.compressed_step == doctest::Approx(4e-3 + 2e-4));
  CHECK(p.speedup == doctest::Approx(6.4e-3 / 4.2e-3));
  // saved = 4400 - 3000 = 1400 bytes, cost = 2e-4 - 1e-3 < 0: compression pays at any bandwidth
  CHECK(p.pays == "always");
  CHECK_FALSE(p.breakeven_bandwidth.has_value());
}

TEST_CASE("the what-if projects other learner counts from the mean learner and independent positions") {
  const NetworkSetting net{"8Mbit", 1e6, 0};
  const NetworkProjection p = project_network(net, two_learners(), 4, false);
  CHECK_FALSE(p.measured);
  CHECK(p.payload_bytes == doctest::Approx(4 * 2000));  // the mean learner's 2000 bytes each
  CHECK(p.ring_allgather == doctest::Approx((8000 - 2000) * 1e-6));
  // nonzeros 1000 (1 - 0.9^4) = 343.9: 8 bytes each beats 4000 dense; + 400 passthrough
  CHECK(p.update_bytes == doctest::Approx(8 * 343.9 + 400));
  CHECK(p.dense_allreduce == doctest::Approx(2.0 * 3 / 4 * 4400e-6));
  CHECK(p.decode == doctest::Approx(4 * 5e-5));
  // saved = 6600 - 6000 = 600 bytes, cost = 3e-4 s: pays below 600 / 3e-4 = 2e6 bytes/s
  CHECK(p.pays == "below");
  REQUIRE(p.breakeven_bandwidth.has_value());
  CHECK(*p.breakeven_bandwidth == doctest::Approx(2e6));
  // and at more learners than the dense ring's saving can pay for: never
  const NetworkProjection many = project_network(net, two_learners(), 64, false);
  CHECK(many.pays == "never");
}
