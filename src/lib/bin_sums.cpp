// The bin sums of the selected |G| (wire_format.md §7 step 5: binary64, in index order), for
// kernels that add in another order.
//
// Why another order can give the same bits: a float with biased exponent E (1 for subnormals)
// is an integer multiple of 2^(E - 150) below 2^(E - 126). If the selected values of a bin have
// exponents between Emin and Emax, each is a multiple of q = 2^(Emin - 150), and any partial sum
// of at most T of them is a multiple of q below T * 2^(Emax - 126). A binary64 number holds every
// multiple of q below 2^53 * q exactly, so no addition rounds when
//   T * 2^(Emax - 126) <= 2^(53 + Emin - 150),  i.e.  Emax - Emin + log2(T) <= 29,
// and every order then gives the exact sum. Gradients rarely spread a bin's selected values over
// more than 2^20, so the ordered loop below is the exception.
#include <algorithm>
#include <bit>
#include <cmath>

#include "select_kernel.hpp"

namespace adacomp::detail {

bool exact_sums(std::uint32_t smallest_bits, std::uint32_t largest_bits, std::uint32_t bin_size) {
  const int largest_exponent = static_cast<int>(largest_bits >> 23);
  const int smallest_exponent = std::max(static_cast<int>(smallest_bits >> 23), 1);
  const int log2_bin_size = static_cast<int>(std::bit_width(bin_size - 1));  // ceil(log2 T)
  return largest_exponent - smallest_exponent + log2_bin_size <= 29;
}

void ordered_bin_sums(const SelectArgs& a) {
  const float* G = a.residue ? a.residue : a.gradient;
  const std::uint16_t* entry = a.entries;
  for (std::size_t bin = a.first_bin; bin < a.last_bin; ++bin) {
    const float* values = G + bin * a.bin_size;
    double sum = 0.0;
    for (std::uint16_t c = 0; c < a.counts[bin - a.first_bin]; ++c, ++entry)
      sum += static_cast<double>(std::fabs(values[*entry >> 2]));
    a.sums[bin - a.first_bin] = sum;
  }
}

}  // namespace adacomp::detail
