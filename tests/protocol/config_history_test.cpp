// The history section of the config: defaults, and every bad value refused with its key named.
#include <doctest/doctest.h>

#include <string>

#include "config_text.hpp"
#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;

namespace {
std::string with_history(const std::string& history) { return testing::config_with("history", history); }
std::string refusal(const std::string& history) { return testing::refusal_of(with_history(history)); }
}  // namespace

TEST_CASE("history: off by default; on with its defaults") {
  const auto off = protocol::parse_config(with_history("{}"));
  CHECK_FALSE(off.history.enabled);
  const auto on = protocol::parse_config(with_history(R"({"enabled": true})"));
  CHECK(on.history.enabled);
  CHECK(on.history.dir == "data/history");
  CHECK(on.history.partition_ms == 3'600'000);
  CHECK(on.history.on_full == app::HistoryOnFull::conflate);
}

TEST_CASE("history: bad values are refused, naming the key") {
  CHECK(refusal(R"({"partition_ms": 10})").find("history.partition_ms") != std::string::npos);
  CHECK(refusal(R"({"on_full": "block"})").find("history.on_full") != std::string::npos);
  CHECK(refusal(R"({"flush_ms": 500})").find("history.flush_ms") != std::string::npos);
  CHECK(refusal(R"({"max_query_rows": 100})").find("history.max_query_rows") != std::string::npos);
  CHECK(refusal(R"({"retention_ms": 1000, "archive_after_ms": 5000})").find("history.retention_ms") != std::string::npos);
  CHECK(refusal(R"({"enabled": true, "dir": "x", "archive_dir": "x"})").find("history.archive_dir") != std::string::npos);
  CHECK(refusal(R"({"enabled": true, "dir": ""})").find("history.dir") != std::string::npos);
  CHECK(refusal(R"({"retention": 5})").find("history.retention") != std::string::npos);  // typo: unknown key
  CHECK(refusal(R"({"archive_after_ms": 0, "retention_ms": 0})").empty());
}
