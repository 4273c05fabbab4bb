// The replay's comparison of codecs as one self-contained HTML page (`--report FILE.html`): no
// script and no external resource, the plots drawn as inline SVG, so that it opens anywhere,
// offline, and prints as it shows. The figures are those of the JSON report.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "adacomp/replay.hpp"

namespace adacomp {

namespace {

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format(const char* pattern, double value) {
  if (!std::isfinite(value)) return "-";
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// Distinct hues for up to 24 codecs, then again.
std::string color(std::size_t i) {
  static const char* const kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                                        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
                                        "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354",
                                        "#756bb1", "#636363", "#9c9ede", "#cedb9c", "#e7ba52", "#e7969c"};
  return kColors[i % (sizeof kColors / sizeof kColors[0])];
}

// A log10 axis over the finite positive values, whole decades.
struct LogAxis {
  double low = 0, high = 1;  // decades
  LogAxis(const std::vector<double>& values) {
    double lo = INFINITY, hi = -INFINITY;
    for (double v : values)
      if (std::isfinite(v) && v > 0) {
        lo = std::min(lo, std::log10(v));
        hi = std::max(hi, std::log10(v));
      }
    if (!std::isfinite(lo)) return;
    low = std::floor(lo);
    high = std::max(std::ceil(hi), low + 1);
  }
  // position in [0, 1] of a finite positive value
  double at(double v) const { return (std::log10(v) - low) / (high - low); }
};

constexpr double kWidth = 760, kHeight = 420, kLeft = 70, kRight = 20, kTop = 20, kBottom = 50;

std::string x_of(double unit) { return format("%.1f", kLeft + unit * (kWidth - kLeft - kRight)); }
std::string y_of(double unit) { return format("%.1f", kHeight - kBottom - unit * (kHeight - kTop - kBottom)); }

void axes(std::ostringstream& svg, const std::string& x_label, const std::string& y_label, const LogAxis* x_log,
          double x_max, const LogAxis& y_log) {
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << kWidth - kLeft - kRight << "\" height=\""
      << kHeight - kTop - kBottom << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double d = y_log.low; d <= y_log.high; ++d) {
    const std::string y = y_of((d - y_log.low) / (y_log.high - y_log.low));
    svg << "<line x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << y << "\" y2=\"" << y
        << "\" stroke=\"#ddd\"/><text x=\"" << kLeft - 6 << "\" y=\"" << y
        << "\" text-anchor=\"end\" dominant-baseline=\"middle\">1e" << d << "</text>\n";
  }
  if (x_log) {
    for (double d = x_log->low; d <= x_log->high; ++d) {
      const std::string x = x_of((d - x_log->low) / (x_log->high - x_log->low));
      svg << "<line x1=\"" << x << "\" x2=\"" << x << "\" y1=\"" << kTop << "\" y2=\"" << kHeight - kBottom
          << "\" stroke=\"#ddd\"/><text x=\"" << x << "\" y=\"" << kHeight - kBottom + 18
          << "\" text-anchor=\"middle\">1e" << d << "</text>\n";
    }
  } else {
    const double step = std::max(1.0, std::ceil(x_max / 10));
    for (double s = 0; s <= x_max; s += step)
      svg << "<text x=\"" << x_of(x_max > 0 ? s / x_max : 0) << "\" y=\"" << kHeight - kBottom + 18
          << "\" text-anchor=\"middle\">" << s << "</text>\n";
  }
  svg << "<text x=\"" << (kLeft + kWidth - kRight) / 2 << "\" y=\"" << kHeight - 8 << "\" text-anchor=\"middle\">"
      << escaped(x_label) << "</text>\n<text transform=\"translate(16 " << (kTop + kHeight - kBottom) / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escaped(y_label) << "</text>\n";
}

double fidelity(const CodecSummary& c) { return c.weight_drift.value_or(c.mean_update_rel_l2); }

std::string short_name(const std::string& spec) { return spec.substr(0, spec.find(':')); }

// A point's label: the codec's name, or its whole spec where another codec has the same name.
std::string label(const std::vector<CodecSummary>& codecs, std::size_t i) {
  const std::string name = short_name(codecs[i].codec);
  for (std::size_t j = 0; j < codecs.size(); ++j)
    if (j != i && short_name(codecs[j].codec) == name) return codecs[i].codec;
  return name;
}

}  // namespace

std::string replay_report_html(const ReplayResult& result) {
  std::vector<CodecSummary> codecs = result.codecs;
  if (codecs.empty()) {  // no --codec: AdaComp alone, from the replay's own figures
    CodecSummary s;
    s.codec = "adacomp";
    s.ratio_source = result.total.ratio;
    s.weight_drift = result.total.weight_drift;
    s.mean_update_rel_l2 = result.total.mean_update_rel_l2;
    for (const StepStats& step : result.steps) s.step_update_rel_l2.push_back(step.update_rel_l2);
    s.pareto = true;
    codecs.push_back(std::move(s));
  }
  const std::string fidelity_name = result.has_weights ? "weight drift vs the baseline" : "mean update error";
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>adacomp replay: "
       << escaped(result.dump) << "</title>\n<style>\nbody{font-family:sans-serif;margin:2em;color:#222}"
       << "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #ddd;"
       << "text-align:right}td:first-child,th:first-child{text-align:left}svg{font-size:11px;background:#fff}"
       << ".swatch{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}\n</style>\n</head>\n<body>\n"
       << "<h1>Codecs side by side</h1>\n<p>Dump <code>" << escaped(result.dump) << "</code>: " << result.learners
       << " learners, " << result.steps.size() << " steps, lr " << format("%g", result.lr) << ", momentum "
       << format("%g", result.momentum)
       << ". Every codec on the same gradients, learners and SGD; sorted by ratio; &#9733; on the Pareto front of "
          "ratio against "
       << escaped(fidelity_name) << ".</p>\n";

  html << "<table id=\"codecs\">\n<tr><th>codec</th><th>bytes/step</th><th>ratio (f32)</th><th>ratio (source)</th>"
          "<th>update error</th><th>cosine</th><th>drift</th><th>encode ns/el</th><th>decode ns/el</th></tr>\n";
  for (const CodecSummary& c : codecs) {
    const double per_step =
        result.steps.empty() ? 0.0 : static_cast<double>(c.payload_bytes) / static_cast<double>(result.steps.size());
    html << "<tr><td>" << (c.pareto ? "&#9733; " : "") << escaped(c.codec) << "</td><td>" << format("%.0f", per_step)
         << "</td><td>" << format("%.2f", c.ratio_f32) << "</td><td>" << format("%.2f", c.ratio_source) << "</td><td>"
         << format("%.3e", c.mean_update_rel_l2) << "</td><td>" << format("%.4f", c.mean_update_cosine) << "</td><td>"
         << (c.weight_drift ? format("%.3e", *c.weight_drift) : "-") << "</td><td>"
         << format("%.2f", c.encode_ns_per_element) << "</td><td>" << format("%.2f", c.decode_ns_per_element)
         << "</td></tr>\n";
  }
  html << "</table>\n";
  for (const CodecSummary& c : codecs)
    if (!c.note.empty()) html << "<p>Note, " << escaped(c.codec) << ": " << escaped(c.note) << ".</p>\n";

  // Ratio against drift: one point per codec, the Pareto front joined.
  std::vector<double> ratios, fidelities;
  for (const CodecSummary& c : codecs) {
    ratios.push_back(c.ratio_source);
    fidelities.push_back(fidelity(c));
  }
  const LogAxis x_axis(ratios), y_axis(fidelities);
  std::ostringstream scatter;
  scatter << "<svg id=\"ratio-vs-drift\" class=\"plot\" width=\"" << kWidth << "\" height=\"" << kHeight
          << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" role=\"img\">\n";
  axes(scatter, "compression ratio (source dtype)", fidelity_name, &x_axis, 0, y_axis);
  std::vector<std::pair<double, double>> front;
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    const double r = ratios[i], f = fidelities[i];
    if (!(std::isfinite(r) && r > 0 && std::isfinite(f) && f > 0)) continue;
    const std::string x = x_of(x_axis.at(r)), y = y_of(y_axis.at(f));
    scatter << "<circle class=\"codec\" cx=\"" << x << "\" cy=\"" << y << "\" r=\"5\" fill=\"" << color(i)
            << "\"><title>" << escaped(codecs[i].codec) << "</title></circle><text x=\"" << x << "\" y=\"" << y
            << "\" dx=\"7\" dy=\"-4\">" << escaped(label(codecs, i)) << "</text>\n";
    if (codecs[i].pareto) front.emplace_back(x_axis.at(r), y_axis.at(f));
  }
  std::sort(front.begin(), front.end());
  scatter << "<polyline class=\"pareto\" fill=\"none\" stroke=\"#000\" stroke-dasharray=\"4 3\" points=\"";
  for (const auto& [x, y] : front) scatter << x_of(x) << "," << y_of(y) << " ";
  scatter << "\"/>\n</svg>\n";
  html << "<h2>Ratio against " << escaped(fidelity_name) << "</h2>\n" << scatter.str();

  // Update error over the steps, one line per codec.
  std::vector<double> errors;
  for (const CodecSummary& c : codecs)
    errors.insert(errors.end(), c.step_update_rel_l2.begin(), c.step_update_rel_l2.end());
  const LogAxis error_axis(errors);
  const double last = result.steps.size() > 1 ? static_cast<double>(result.steps.size() - 1) : 1.0;
  std::ostringstream lines;
  lines << "<svg id=\"update-error\" class=\"plot\" width=\"" << kWidth << "\" height=\"" << kHeight
        << "\" viewBox=\"0 0 " << kWidth << " " << kHeight << "\" role=\"img\">\n";
  axes(lines, "replayed step", "update error ||avg decoded - avg exact|| / ||avg exact||", nullptr, last, error_axis);
  for (std::size_t i = 0; i < codecs.size(); ++i) {
    lines << "<polyline class=\"codec\" fill=\"none\" stroke-width=\"1.5\" stroke=\"" << color(i) << "\" points=\"";
    for (std::size_t s = 0; s < codecs[i].step_update_rel_l2.size(); ++s) {
      const double e = codecs[i].step_update_rel_l2[s];
      if (std::isfinite(e) && e > 0)
        lines << x_of(static_cast<double>(s) / last) << "," << y_of(error_axis.at(e)) << " ";
    }
    lines << "\"><title>" << escaped(codecs[i].codec) << "</title></polyline>\n";
  }
  lines << "</svg>\n";
  html << "<h2>Update error over the steps</h2>\n" << lines.str() << "<p>";
  for (std::size_t i = 0; i < codecs.size(); ++i)
    html << "<span class=\"swatch\" style=\"background:" << color(i) << "\"></span>" << escaped(codecs[i].codec);
  html << "</p>\n<p>Steps whose update error is 0 (warm-up, exact codecs) are left out of the log scale.</p>\n"
       << "</body>\n</html>\n";
  return html.str();
}

}  // namespace adacomp
