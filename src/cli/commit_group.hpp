#pragma once
// Several outputs that stand or fall together (encode's stream and --residue; replay's report,
// weights and stream directory): each is complete before any replaces its predecessor, and
// commit_together moves them into place in order, with the fatal signals held off. When one
// fails, those already in place are put back as they were, so that no residue is kept for a
// stream that was not written, and no stream is written for a residue that was not kept.
#include <initializer_list>

namespace adacomp::cli {

class GroupOutput {
 public:
  virtual ~GroupOutput() = default;
  // Moves the output into place. With `keep_previous`, what it replaced is kept until
  // finish_commit() or roll_back(); commit_together asks that of every output but the last,
  // since nothing after the last can fail and undo it.
  virtual void move_into_place(bool keep_previous) = 0;
  // Puts back what was there before move_into_place(true).
  virtual void roll_back() noexcept = 0;
  // Drops what the output replaced.
  virtual void finish_commit() noexcept = 0;
};

// Null entries are skipped. Throws the first failure after rolling back the committed ones.
void commit_together(std::initializer_list<GroupOutput*> outputs);

}  // namespace adacomp::cli
