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
  // Steps of more than one unit, and products past 64 bits (the 128-bit digits).
  CHECK(format_steps(7, Decimal{5, 2}) == "0.35");
  CHECK(format_steps(-123, Decimal{25, 1}) == "-307.5");
  CHECK(format_steps(INT64_MAX, Decimal{1, 0}) == "9223372036854775807");
  CHECK(format_steps(INT64_MIN, Decimal{1, 0}) == "-9223372036854775808");
  CHECK(format_steps(INT64_MAX, Decimal{1000, 18}) == "9223.372036854775807000");
  CHECK(format_steps(INT64_MAX, Decimal{INT64_MAX, 3}) == "85070591730234615847396907784232501.249");
  CHECK(format_steps(INT64_MIN, Decimal{INT64_MAX, 0}) == "-85070591730234615856620279821087277056");
  CHECK(format_steps(5, Decimal{1, 18}) == "0.000000000000000005");
}

// Ensure the 64-bit fast paths agree with exact arithmetic at the edges of int64.
TEST_CASE("Decimal: int64 boundaries and the wide path") {
  CHECK(parse_decimal("9223372036854775807").value.units == INT64_MAX);
  CHECK(parse_decimal("9223372036854775808").error == DecimalError::overflow);
  CHECK(parse_decimal("18446744073709551620").error == DecimalError::overflow);  // wraps to 4 in 64 bits
  CHECK(parse_decimal("99999999999999999999999").error == DecimalError::overflow);
  CHECK(parse_decimal("-9223372036854775807").value.units == -INT64_MAX);
  CHECK(parse_decimal("922337203685477580.7").value == Decimal{INT64_MAX, 1});
  CHECK(parse_decimal("1e18").value.units == 1000000000000000000LL);
  CHECK(parse_decimal("1e19").error == DecimalError::overflow);
  // 9.2e10 at 1e-8 is 9.2e18 steps: fits; 9.3e10 does not.
  CHECK(to_steps(parse_decimal("92000000000").value, market_data_step).steps == 9200000000000000000LL);
  CHECK(to_steps(parse_decimal("93000000000").value, market_data_step).error == StepError::overflow);
  // Rescaling the step overflows 64 bits, the quotient does not: the 128-bit path answers.
  CHECK(to_steps(Decimal{5, 18}, Decimal{5, 18}).steps == 1);
  CHECK(to_steps(Decimal{1000000000, 0}, Decimal{1, 18}).error == StepError::overflow);
  CHECK(to_steps(Decimal{9, 0}, Decimal{3, 0}).steps == 3);
  CHECK(to_steps_rounded(Decimal{7, 0}, Decimal{2, 0}).steps == 4);   // 3.5 -> 4
  CHECK(to_steps_rounded(Decimal{-7, 0}, Decimal{2, 0}).steps == -4);
  CHECK(to_steps_rounded(Decimal{5, 0}, Decimal{4, 0}).steps == 1);   // 1.25 -> 1
}
