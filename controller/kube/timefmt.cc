#include "kube/timefmt.h"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace slotkeeper::kube {
namespace {

using std::chrono::system_clock;

std::string formatDateTime(system_clock::time_point t) {
  const std::time_t secs = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  // Sized for any int fields so the compiler can prove no truncation.
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

// Reads exactly `width` digits at text[*pos].
bool readDigits(std::string_view text, size_t* pos, size_t width, int* out) {
  if (*pos + width > text.size()) return false;
  const char* begin = text.data() + *pos;
  auto [ptr, ec] = std::from_chars(begin, begin + width, *out);
  if (ec != std::errc() || ptr != begin + width) return false;
  *pos += width;
  return true;
}

bool expectChar(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || (text[*pos] != c && text[*pos] != (c == 'T' ? 't' : c))) {
    return false;
  }
  ++*pos;
  return true;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm), so
// parsing does not depend on the process time zone (timegm is not standard).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

std::string formatTime(system_clock::time_point t) { return formatDateTime(t) + "Z"; }

std::string formatMicroTime(system_clock::time_point t) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>(micros < 0 ? 0 : micros));
  return formatDateTime(t) + frac + "Z";
}

Result<system_clock::time_point> parseTime(std::string_view text) {
  const Status bad = invalidArgument("not an RFC 3339 time: \"" + std::string(text) + "\"");
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!readDigits(text, &pos, 4, &year) || !expectChar(text, &pos, '-') ||
      !readDigits(text, &pos, 2, &month) || !expectChar(text, &pos, '-') ||
      !readDigits(text, &pos, 2, &day) || !expectChar(text, &pos, 'T') ||
      !readDigits(text, &pos, 2, &hour) || !expectChar(text, &pos, ':') ||
      !readDigits(text, &pos, 2, &minute) || !expectChar(text, &pos, ':') ||
      !readDigits(text, &pos, 2, &second)) {
    return bad;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return bad;
  }
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int64_t scale = 100000000;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      nanos += (text[pos] - '0') * scale;
      scale /= 10;
      ++pos;
      ++digits;
    }
    if (digits == 0) return bad;
  }
  int64_t offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    int oh = 0, om = 0;
    if (!readDigits(text, &pos, 2, &oh) || !expectChar(text, &pos, ':') ||
        !readDigits(text, &pos, 2, &om)) {
      return bad;
    }
    offset_seconds = sign * (oh * 3600 + om * 60);
  } else {
    return bad;
  }
  if (pos != text.size()) return bad;
  const int64_t days =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
  return system_clock::time_point{std::chrono::duration_cast<system_clock::duration>(
      std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos))};
}

}  // namespace slotkeeper::kube
