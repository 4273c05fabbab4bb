#pragma once
// One pass over a wire stream as `adacomp inspect` makes it: each frame's figures, the totals and
// the `--json` document (schema: format_spec/cli_json.md, "inspect"), for the CLI and the Python
// module alike.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adacomp/byte_io.hpp"
#include "adacomp/error.hpp"
#include "adacomp/frame_stats.hpp"
#include "adacomp/wire.hpp"

namespace adacomp {

struct InspectTotals {
  std::uint64_t frames = 0, elements = 0, entries = 0, raw_bytes = 0, frame_bytes = 0, entry_bits = 0;
  double bound_bits = 0;
};

struct InspectOptions {
  bool bins = false;                     // per-bin figures of compressed frames
  std::vector<std::string> frames;       // only frames whose name matches one of these globs; all when empty
  const wire::Layout* layout = nullptr;  // the layout that streams referring to one were written with
  bool json = false;                     // build the JSON document as the frames go
};

class StreamInspection {
 public:
  StreamInspection(ByteInput& input, InspectOptions options);
  ~StreamInspection();
  StreamInspection(const StreamInspection&) = delete;
  StreamInspection& operator=(const StreamInspection&) = delete;

  using FrameCallback = std::function<void(const wire::FrameInfo&, const FrameStats&, bool has_sparse)>;
  // Reads every frame, calling `on_frame` for those selected (after `on_streams`, which is called
  // before each frame and at the end so that stream headers can be listed as they appear). An
  // error in the stream stops the pass and is kept (failure()), with what was read before it.
  void run(const FrameCallback& on_frame = {}, const std::function<void()>& on_streams = {});

  const wire::StreamReader& reader() const noexcept { return reader_; }
  const InspectTotals& totals() const noexcept { return totals_; }
  const std::optional<Error>& failure() const noexcept { return failure_; }
  // The whole document (options.json): streams, frames, totals and the error, if any.
  std::string json_text() const;

 private:
  struct Document;
  ByteInput& input_;
  InspectOptions options_;
  wire::StreamReader reader_;
  InspectTotals totals_;
  std::optional<Error> failure_;
  std::unique_ptr<Document> document_;
};

}  // namespace adacomp
