#include <doctest/doctest.h>

#include "tradeshard/core/decimal.hpp"

using namespace tradeshard::core;

// Ensure decimal text converts exactly, with minimal scale, and bad text is named.
TEST_CASE("Decimal: parse") {
  CHECK(parse_decimal("50000.10").value == Decimal{500001, 1});
  CHECK(parse_decimal("25.35190000").value == Decimal{253519, 4});
  CHECK(parse_decimal("0.00001").value == Decimal{1, 5});
  CHECK(parse_decimal("1e-5").value == Decimal{1, 5});
  CHECK(parse_decimal("2.5E+3").value == Decimal{2500, 0});
  CHECK(parse_decimal("-0.5").value == Decimal{-5, 1});
  CHECK(parse_decimal("0").value == Decimal{0, 0});
  CHECK(parse_decimal("0.000").value == Decimal{0, 0});
  CHECK(parse_decimal("").error == DecimalError::empty);
  CHECK(parse_decimal("abc").error == DecimalError::bad_syntax);
  CHECK(parse_decimal("1.2.3").error == DecimalError::bad_syntax);
  CHECK(parse_decimal("1e").error == DecimalError::bad_syntax);
  CHECK(parse_decimal("99999999999999999999").error == DecimalError::overflow);
  CHECK(parse_decimal("0.0000000000000000001").error == DecimalError::too_precise);
}

// Ensure prices snap to the tick grid only when exact, and formatting round-trips.
TEST_CASE("Decimal: steps") {
  const Decimal tick{1, 2};
  CHECK(to_steps(parse_decimal("50000.10").value, tick).steps == 5000010);
  CHECK(to_steps(parse_decimal("50000.105").value, tick).error == StepError::not_multiple);
  CHECK(to_steps_rounded(parse_decimal("50000.105").value, tick).steps == 5000011);
  CHECK(to_steps_rounded(parse_decimal("-0.005").value, tick).steps == -1);
  CHECK(to_steps(parse_decimal("0.5").value, Decimal{1, 5}).steps == 50000);
  CHECK(to_steps(parse_decimal("3").value, Decimal{5, 1}).steps == 6);
  CHECK(to_steps(parse_decimal("1").value, Decimal{0, 0}).error == StepError::bad_step);
  CHECK(format_steps(10000, tick) == "100.00");
  CHECK(format_steps(1, Decimal{1, 0}) == "1");
  CHECK(format_steps(50000, Decimal{1, 5}) == "0.50000");
  CHECK(format_steps(-7, tick) == "-0.07");
  CHECK(format_steps(0, tick) == "0.00");
  CHECK(to_string(Decimal{2535190, 5}) == "25.35190");
}
