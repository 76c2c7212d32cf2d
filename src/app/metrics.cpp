#include "tradeshard/app/metrics.hpp"

#include <charconv>
#include <stdexcept>

namespace tradeshard::app {
namespace {

bool valid_name(std::string_view n, bool allow_colon) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

void append_number(std::string& out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back the same
  out.append(buf, r.ptr);
}

void append_escaped(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

void append_help(std::string& out, std::string_view s) {
  for (const char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
}

}  // namespace

void MetricsRegistry::add(Family f) {
  if (!valid_name(f.name, true)) throw std::invalid_argument("metrics: bad name '" + f.name + "'");
  if (!f.label.empty() && (!valid_name(f.label, false) || f.label.starts_with("__") || f.label == "le")) {
    throw std::invalid_argument("metrics: bad label '" + f.label + "' on " + f.name);
  }
  for (const auto& g : families_) {
    if (g.name == f.name) throw std::invalid_argument("metrics: '" + f.name + "' registered twice");
  }
  families_.push_back(std::move(f));
}

void MetricsRegistry::counter(std::string name, std::string help, Value value) {
  add({std::move(name), std::move(help), {}, Kind::counter, std::move(value), {}, {}, {}});
}
void MetricsRegistry::gauge(std::string name, std::string help, Value value) {
  add({std::move(name), std::move(help), {}, Kind::gauge, std::move(value), {}, {}, {}});
}
void MetricsRegistry::counter(std::string name, std::string help, std::string label, Series series) {
  add({std::move(name), std::move(help), std::move(label), Kind::counter, {}, std::move(series), {}, {}});
}
void MetricsRegistry::gauge(std::string name, std::string help, std::string label, Series series) {
  add({std::move(name), std::move(help), std::move(label), Kind::gauge, {}, std::move(series), {}, {}});
}
void MetricsRegistry::histogram(std::string name, std::string help, std::function<const LatencyHistogram&()> read,
                                std::vector<double> bounds_s) {
  for (std::size_t i = 1; i < bounds_s.size(); ++i) {
    if (!(bounds_s[i] > bounds_s[i - 1])) throw std::invalid_argument("metrics: " + name + ": bounds must increase");
  }
  add({std::move(name), std::move(help), {}, Kind::histogram, {}, {}, std::move(read), std::move(bounds_s)});
}

std::string MetricsRegistry::prometheus() const {
  std::string out;
  out.reserve(4096);
  for (const auto& f : families_) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += f.kind == Kind::counter ? " counter\n" : f.kind == Kind::gauge ? " gauge\n" : " histogram\n";
    if (f.kind == Kind::histogram) {
      const LatencyHistogram& h = f.histogram();
      for (const double le : f.bounds) {
        out += f.name + "_bucket{le=\"";
        append_number(out, le);
        out += "\"} ";
        append_number(out, static_cast<double>(h.count_at_or_below(static_cast<std::uint64_t>(le * 1e9))));
        out += '\n';
      }
      out += f.name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count()) + "\n";
      out += f.name + "_sum ";
      append_number(out, static_cast<double>(h.sum_ns()) / 1e9);
      out += '\n' + f.name + "_count " + std::to_string(h.count()) + "\n";
    } else if (f.value) {
      out += f.name;
      out += ' ';
      append_number(out, f.value());
      out += '\n';
    } else {
      f.series([&](std::string_view label_value, double v) {
        out += f.name;
        out += '{';
        out += f.label;
        out += "=\"";
        append_escaped(out, label_value);
        out += "\"} ";
        append_number(out, v);
        out += '\n';
      });
    }
  }
  return out;
}

std::vector<std::string> MetricsRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& f : families_) out.push_back(f.name);
  return out;
}

}  // namespace tradeshard::app
