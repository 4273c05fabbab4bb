#pragma once
// The comparison codecs' constructors (codecs-internal), one per source file; catalogue.cpp lists
// them with their parameters. `spec` has every parameter, checked.
#include <memory>
#include <string>
#include <vector>

#include "adacomp/codecs.hpp"

namespace adacomp::codecs::detail {

using Shape = std::vector<std::uint64_t>;

// A codec for a tensor of `shape` (C order) and n elements; `name` only serves error messages.
std::unique_ptr<TensorCodec> make_topk(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                       std::size_t n);
std::unique_ptr<TensorCodec> make_randomk(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n);
std::unique_ptr<TensorCodec> make_efsignsgd(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                            std::size_t n);
std::unique_ptr<TensorCodec> make_onebit(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                         std::size_t n);
std::unique_ptr<TensorCodec> make_terngrad(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                           std::size_t n);
std::unique_ptr<TensorCodec> make_qsgd(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                       std::size_t n);
std::unique_ptr<TensorCodec> make_sbc(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                      std::size_t n);
std::unique_ptr<TensorCodec> make_signsgd(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n);
std::unique_ptr<TensorCodec> make_natural(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n);
std::unique_ptr<TensorCodec> make_hipress(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n);
std::unique_ptr<TensorCodec> make_gradcomp(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                           std::size_t n);
std::unique_ptr<TensorCodec> make_dgc(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                      std::size_t n);
std::unique_ptr<TensorCodec> make_threelc(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n);
std::unique_ptr<TensorCodec> make_fp8(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                      std::size_t n);
std::unique_ptr<TensorCodec> make_fp4(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                      std::size_t n);
std::unique_ptr<TensorCodec> make_gennorm_huffman(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                                  std::size_t n);
std::unique_ptr<RoundCodec> make_powersgd(const CodecSpec& spec, const std::string& name, const Shape& shape,
                                          std::size_t n);

}  // namespace adacomp::codecs::detail
