// RFC 3339 formatting and parsing without locale or time-zone state (timegm on a broken-down UTC time).
#include "operator/api/time_format.h"

#include <cstdio>
#include <ctime>

namespace kubecnn::api {

std::string FormatTime(kube::WallTime t) { return kube::FormatTime(t); }

std::optional<kube::WallTime> ParseTime(const std::string& text) {
  int year, month, day, hour, minute, second, consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second, &consumed) !=
          6 ||
      consumed != 19) {
    return std::nullopt;
  }
  size_t pos = 19;
  double fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t end = pos + 1;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end == pos + 1) return std::nullopt;
    fraction = std::stod("0" + text.substr(pos, end - pos));
    pos = end;
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') && text[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(text.c_str() + pos + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_seconds = (text[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != text.size() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t seconds = timegm(&tm) - offset_seconds;
  return std::chrono::time_point_cast<kube::WallTime::duration>(
      std::chrono::system_clock::from_time_t(seconds) +
      std::chrono::duration_cast<kube::WallTime::duration>(std::chrono::duration<double>(fraction)));
}

}  // namespace kubecnn::api
