#include "path_policy.hpp"

#include <filesystem>
#include <optional>

#include <sys/stat.h>
#include <unistd.h>

#include "adacomp/error.hpp"

namespace adacomp::cli {

namespace fs = std::filesystem;

std::string resolved_path(const std::string& path) {
  if (path == "-") return path;
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(fs::absolute(path, ec), ec);
  if (ec) resolved = fs::absolute(path, ec).lexically_normal();
  std::string text = resolved.string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

bool path_within(const std::string& inner, const std::string& outer) {
  if (inner == "-" || outer == "-") return false;
  if (inner.compare(0, outer.size(), outer) != 0) return false;
  return inner.size() == outer.size() || outer == "/" || inner[outer.size()] == '/';
}

namespace {

struct Identity {
  dev_t device;
  ino_t inode;
  mode_t mode;
  nlink_t links;
};

std::optional<Identity> identity_of(const struct stat& st) {
  return Identity{st.st_dev, st.st_ino, st.st_mode, st.st_nlink};
}

// What the checks need to know of one path.
struct Facts {
  std::string name;                         // the name a rename would replace: resolved parent + the last component
  std::string target;                       // the file the name resolves to
  std::vector<std::string> linked_targets;  // a tree: what its symbolic links resolve to
  std::optional<Identity> file;             // stat: the file read or written through
  std::optional<Identity> link;             // lstat: the name itself
  bool standard_stream = false;
};

Facts facts_of(const std::string& path, bool output) {
  Facts facts;
  struct stat st;
  if (path == "-") {
    facts.standard_stream = true;
    if (::fstat(output ? STDOUT_FILENO : STDIN_FILENO, &st) == 0) facts.file = identity_of(st);
    return facts;
  }
  facts.target = resolved_path(path);
  const fs::path p(path);
  const std::string last = p.filename().string();
  if (last.empty() || last == "." || last == "..") {
    facts.name = facts.target;
  } else {
    const std::string parent = p.parent_path().empty() ? std::string(".") : p.parent_path().string();
    const std::string resolved_parent = resolved_path(parent);
    facts.name = resolved_parent == "/" ? "/" + last : resolved_parent + "/" + last;
  }
  if (::stat(path.c_str(), &st) == 0) facts.file = identity_of(st);
  if (::lstat(path.c_str(), &st) == 0) facts.link = identity_of(st);
  return facts;
}

// A dump's files may be symbolic links to files elsewhere (a dump assembled from shared
// storage): those files are read too. Its own layout is two levels deep; a little more is looked at.
void add_linked_targets(const std::string& tree, Facts& facts) {
  std::error_code ec;
  fs::recursive_directory_iterator it(tree, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it.depth() >= 3) it.disable_recursion_pending();
    std::error_code link_ec;
    if (it->is_symlink(link_ec)) facts.linked_targets.push_back(resolved_path(it->path().string()));
  }
}

bool same_file(const std::optional<Identity>& a, const std::optional<Identity>& b) {
  return a && b && a->device == b->device && a->inode == b->inode;
}

// Written through rather than replaced: stdout, or an existing device or FIFO.
bool written_through(const Facts& facts) {
  return facts.standard_stream || (facts.file && !S_ISREG(facts.file->mode) && !S_ISDIR(facts.file->mode));
}

std::string quoted(const std::string& option, const std::string& path) {
  return option + " '" + (path == "-" ? std::string(option == "input" ? "<stdin>" : "<stdout>") : path) + "'";
}

[[noreturn]] void refuse(const std::string& what, const std::string& why) {
  fail_usage(what + ": " + why + "; refusing to write it (with or without -f)");
}

}  // namespace

void IoPlan::add_input(const std::string& path, const std::string& option) {
  entries_.push_back({path, option, true, false, false});
}
void IoPlan::add_output(const std::string& path, const std::string& option) {
  entries_.push_back({path, option, false, true, false});
}
void IoPlan::add_updated(const std::string& path, const std::string& option) {
  entries_.push_back({path, option, true, true, false});
}
void IoPlan::add_input_tree(const std::string& path, const std::string& option) {
  entries_.push_back({path, option, true, false, true});
}
void IoPlan::add_output_tree(const std::string& path, const std::string& option) {
  entries_.push_back({path, option, false, true, true});
}

void IoPlan::check() const {
  std::vector<Facts> facts;
  for (const Entry& e : entries_) {
    facts.push_back(facts_of(e.path, e.written && !e.read));
    if (e.tree && e.read) add_linked_targets(e.path, facts.back());
  }
  for (std::size_t o = 0; o < entries_.size(); ++o) {
    const Entry& out = entries_[o];
    if (!out.written) continue;
    const Facts& of = facts[o];
    const std::string what = quoted(out.option, out.path);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      if (i == o) continue;
      const Entry& other = entries_[i];
      const Facts& f = facts[i];
      const std::string against = quoted(other.option, other.path);
      if (other.tree) {
        if (!of.standard_stream && path_within(of.name, f.target)) refuse(what, "lies inside " + against);
        if (out.tree && path_within(f.target, of.target)) refuse(what, "would hold " + against);
        for (const std::string& linked : f.linked_targets)
          if ((!out.tree && !of.standard_stream && of.name == linked) || (out.tree && path_within(linked, of.target)))
            refuse(what,
                   (out.tree ? "holds " : "is ") + linked + ", which a symbolic link in " + against + " points to");
        continue;
      }
      if (out.tree) {
        if (!f.standard_stream && path_within(f.target, of.target)) refuse(what, "holds " + against);
        continue;
      }
      if (other.read) {
        if (written_through(of)) {
          if (same_file(of.file, f.file) && (S_ISREG(f.file->mode) || S_ISFIFO(f.file->mode)))
            refuse(what, "is the same file as " + against);
          continue;
        }
        if (!f.standard_stream && (of.name == f.name || of.name == f.target))
          refuse(what, "is the same file as " + against);
        if (of.link && S_ISREG(of.link->mode) && of.link->links <= 1 && same_file(of.link, f.file))
          refuse(what, "is the same file as " + against);
      }
      if (other.written && i < o) {
        if (!of.standard_stream && !f.standard_stream && of.name == f.name)
          refuse(what, "is the same file as " + against);
        if (written_through(of) && written_through(f) && same_file(of.file, f.file) && S_ISREG(of.file->mode))
          refuse(what, "is the same file as " + against);
      }
    }
  }
}

}  // namespace adacomp::cli
