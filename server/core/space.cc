#include "server/core/space.h"

#include "server/core/presence.h"

namespace herald {

Status CheckNotReserved(std::string_view topic) {
  if (!IsReservedTopic(topic)) return Status::Ok();
  return Status::BadRequest(
      "Topics starting with '$' are reserved: address a space's channel with space and "
      "channel");
}

bool IsValidSpaceName(std::string_view space) {
  return !space.empty() && !IsReservedTopic(space) &&
         space.find_first_of("/+#") == std::string_view::npos;
}

std::string SpaceTopic(std::string_view space, std::string_view channel) {
  std::string out;
  out.reserve(kSpacePrefix.size() + space.size() + 1 + channel.size());
  out.append(kSpacePrefix).append(space).append("/").append(channel);
  return out;
}

std::string_view SpaceOfTopic(std::string_view topic) {
  if (topic.compare(0, kSpacePrefix.size(), kSpacePrefix) != 0) return {};
  std::string_view rest = topic.substr(kSpacePrefix.size());
  return rest.substr(0, rest.find('/'));
}

std::string PresenceKey(std::string_view clid, std::string_view space) {
  if (space.empty()) return std::string(clid);
  return SpaceTopic(space, std::string(kPresencePrefix) + std::string(clid));
}

std::string PresenceTopicOfKey(std::string_view key) {
  if (IsReservedTopic(key)) return std::string(key);
  return std::string(kPresencePrefix) + std::string(key);
}

namespace {
// What follows `$space/<s>/` in a space filter, or the whole plain filter.
std::string_view WithinSpace(std::string_view filter) {
  std::string_view space = SpaceOfTopic(filter);
  if (space.empty()) return filter;
  size_t skip = kSpacePrefix.size() + space.size() + 1;
  return skip > filter.size() ? std::string_view() : filter.substr(skip);
}
}  // namespace

bool IsPresenceFilter(std::string_view filter) {
  return WithinSpace(filter).rfind(kPresencePrefix, 0) == 0;
}

std::string_view PresenceKeyWatched(std::string_view filter) {
  if (!IsPresenceFilter(filter)) return {};
  // One level after the prefix, whatever it is (`+` and `#` name clids as
  // far as `available` goes, as in es-web-notify).
  std::string_view clid = WithinSpace(filter).substr(std::string_view(kPresencePrefix).size());
  if (clid.find('/') != std::string_view::npos) return {};
  if (IsReservedTopic(filter)) return filter;
  return clid;
}

}  // namespace herald
