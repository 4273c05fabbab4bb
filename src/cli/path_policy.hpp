#pragma once
// Which outputs a command may write, given what it reads: checked before any work, so that no
// output ever replaces or writes into an input, another output, or the dump being replayed.
//
// An output replaces a name (the file is written beside it and renamed over it) or, for stdout,
// a device or a FIFO, writes through it. A conflict is refused, -f or not, naming both paths:
// - the output's name is an input's name, or the file an input's name resolves to;
// - the output's name is the last link of an input's file (same device and inode);
// - an output written through (stdout, FIFO) is an input's regular file or FIFO;
// - two outputs have the same name;
// - an output lies inside a protected directory (the dump) or inside a directory output.
// A symbolic link or an extra hard link of an input is a name of its own: replacing it leaves the
// input as it was, so it is allowed.
#include <string>
#include <vector>

namespace adacomp::cli {

class IoPlan {
 public:
  // `option` names the argument in messages ("input", "--residue", "-o").
  void add_input(const std::string& path, const std::string& option);
  void add_output(const std::string& path, const std::string& option);
  // Read, then replaced (--residue): checked against the other inputs and outputs, not itself.
  void add_updated(const std::string& path, const std::string& option);
  // A directory whose files are read (the dump): no output may lie inside it.
  void add_input_tree(const std::string& path, const std::string& option);
  // A directory output (--save-stream): no other output may lie inside it.
  void add_output_tree(const std::string& path, const std::string& option);

  // Throws Error(usage) on the first conflict.
  void check() const;

 private:
  struct Entry {
    std::string path, option;
    bool read = false, written = false, tree = false;
  };
  std::vector<Entry> entries_;
};

// The absolute, symlink-resolved form of `path` as far as it exists (std::filesystem's
// weakly_canonical), without throwing; "-" stays "-".
std::string resolved_path(const std::string& path);

// Whether `inner` is `outer` or lies inside it, both resolved paths.
bool path_within(const std::string& inner, const std::string& outer);

}  // namespace adacomp::cli
