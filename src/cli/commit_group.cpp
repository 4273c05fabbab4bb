#include "commit_group.hpp"

#include <vector>

#include "pending_removal.hpp"

namespace adacomp::cli {

void commit_together(std::initializer_list<GroupOutput*> outputs) {
  std::vector<GroupOutput*> pending;
  for (GroupOutput* output : outputs)
    if (output) pending.push_back(output);
  std::vector<GroupOutput*> done;
  {
    SignalHold hold;
    try {
      for (GroupOutput* output : pending) {
        output->move_into_place(output != pending.back());
        done.push_back(output);
      }
    } catch (...) {
      for (auto it = done.rbegin(); it != done.rend(); ++it) (*it)->roll_back();
      throw;
    }
  }
  for (GroupOutput* output : done) output->finish_commit();
}

}  // namespace adacomp::cli
