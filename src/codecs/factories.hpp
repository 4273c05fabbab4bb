#pragma once
// The comparison codecs' constructors (codecs-internal), one per source file; catalogue.cpp lists
// them with their parameters. `spec` has every parameter, checked.
#include <memory>
#include <string>

#include "adacomp/codecs.hpp"

namespace adacomp::codecs::detail {

std::unique_ptr<TensorCodec> make_topk(const CodecSpec& spec, const std::string& name, std::size_t n);
std::unique_ptr<TensorCodec> make_randomk(const CodecSpec& spec, const std::string& name, std::size_t n);

}  // namespace adacomp::codecs::detail
