#pragma once
// The config loader's reader of one JSON object (private to src/protocol): typed getters with
// bounds, and a finish() that refuses any key not read (a typo or an unsupported option).
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tradeshard/protocol/config_loader.hpp"

namespace tradeshard::protocol::config_detail {

using nlohmann::json;

[[noreturn]] inline void fail(const std::string& key, const std::string& why) {
  throw ConfigError(key + ": " + why);
}

// A JSON object being read: remembers which keys were consumed so unknown keys (typos) fail.
class Section {
 public:
  Section(const json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!j_.is_object()) fail(path_.empty() ? "config" : path_, "must be an object");
  }
  ~Section() = default;
  Section(const Section&) = delete;
  Section& operator=(const Section&) = delete;

  std::string key(const std::string& k) const { return path_.empty() ? k : path_ + "." + k; }
  bool has(const std::string& k) {
    seen_.insert(k);
    return j_.contains(k) && !j_.at(k).is_null();
  }
  const json& at(const std::string& k) {
    seen_.insert(k);
    return j_.at(k);
  }

  std::string str(const std::string& k, std::string dflt, bool required = false) {
    if (!has(k)) {
      if (required) fail(key(k), "is required");
      return dflt;
    }
    const json& v = at(k);
    if (!v.is_string()) fail(key(k), "must be a string");
    return v.get<std::string>();
  }
  std::uint64_t uint(const std::string& k, std::uint64_t dflt, std::uint64_t lo, std::uint64_t hi,
                     bool required = false) {
    if (!has(k)) {
      if (required) fail(key(k), "is required");
      return dflt;
    }
    const json& v = at(k);
    if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<std::int64_t>() < 0)) {
      fail(key(k), "must be a non-negative integer");
    }
    const auto n = v.get<std::uint64_t>();
    if (n < lo || n > hi) {
      fail(key(k), "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                       " (got " + std::to_string(n) + ")");
    }
    return n;
  }
  double num(const std::string& k, double dflt, double lo, double hi) {
    if (!has(k)) return dflt;
    const json& v = at(k);
    if (!v.is_number()) fail(key(k), "must be a number");
    const double d = v.get<double>();
    if (!(d >= lo && d <= hi)) {
      std::ostringstream os;
      os << "must be between " << lo << " and " << hi << " (got " << d << ")";
      fail(key(k), os.str());
    }
    return d;
  }
  bool boolean(const std::string& k, bool dflt) {
    if (!has(k)) return dflt;
    const json& v = at(k);
    if (!v.is_boolean()) fail(key(k), "must be true or false");
    return v.get<bool>();
  }
  std::vector<std::string> strings(const std::string& k) {
    std::vector<std::string> out;
    if (!has(k)) return out;
    const json& v = at(k);
    if (!v.is_array()) fail(key(k), "must be an array of strings");
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_string()) fail(key(k) + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back(v[i].get<std::string>());
    }
    return out;
  }
  const json& array(const std::string& k) {
    const json& v = at(k);
    if (!v.is_array()) fail(key(k), "must be an array");
    return v;
  }
  // An enumerated setting, by the enum's own names (to_string over `all`: one list, the domain's).
  template <class E, std::size_t N>
  E pick(const std::string& k, E dflt, const E (&all)[N]) {
    const std::string v = str(k, std::string(to_string(dflt)));
    for (E e : all) {
      if (to_string(e) == v) return e;
    }
    std::string list;
    for (E e : all) list += (list.empty() ? "" : ", ") + std::string(to_string(e));
    fail(key(k), "must be one of " + list + " (got \"" + v + "\")");
  }
  std::string choice(const std::string& k, std::string dflt, std::initializer_list<const char*> allowed) {
    std::string v = str(k, dflt);
    for (const char* a : allowed) {
      if (v == a) return v;
    }
    std::string list;
    for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
    fail(key(k), "must be one of " + list + " (got \"" + v + "\")");
  }
  // Call after reading: any key not consumed is a typo or an unsupported option.
  void finish() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) fail(key(it.key()), "unknown key");
    }
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

}  // namespace tradeshard::protocol::config_detail
