#include "server/store/redis_script.h"

#include <openssl/sha.h>

namespace herald {

RedisScript::RedisScript(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  static const char kHex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    sha1_ += kHex[b >> 4];
    sha1_ += kHex[b & 15];
  }
}

bool RedisScript::Run(RedisClient& client, const std::vector<std::string>& keys,
                      const std::vector<std::string>& args, RedisClient::ReplyFn done) const {
  std::vector<std::string> argv{"EVALSHA", sha1_, std::to_string(keys.size())};
  argv.insert(argv.end(), keys.begin(), keys.end());
  argv.insert(argv.end(), args.begin(), args.end());
  // Pipelined behind EVALSHA: if it answers NOSCRIPT, load and run once more.
  auto retry = [this, &client, argv, done = std::move(done)](const redisReply* reply) mutable {
    const bool noscript = reply && reply->type == REDIS_REPLY_ERROR &&
                          std::string_view(reply->str, reply->len).substr(0, 8) == "NOSCRIPT";
    if (!noscript) return done(reply);
    client.Command({"SCRIPT", "LOAD", source_}, nullptr);
    if (!client.Command(argv, done)) done(nullptr);
  };
  return client.Command(argv, std::move(retry));
}

const RedisScript& PublishScript() {
  static const RedisScript script(R"lua(
local id = redis.call('INCR', KEYS[1])
local epoch = redis.call('GET', KEYS[4])
if not epoch then
  epoch = ARGV[5]
  redis.call('SET', KEYS[4], epoch)
end
local floor = tonumber(ARGV[6] or '0')
if epoch == ARGV[7] and id <= floor then
  id = floor + 1
  redis.call('SET', KEYS[1], id)
end
if KEYS[2] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-0', 'e', ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
  if KEYS[6] then redis.call('ZADD', KEYS[6], 0, ARGV[1]) end
end
local channel = KEYS[5]
if KEYS[7] and KEYS[7] ~= '' then
  -- A whisper to a long-poll session that moved to another node goes there.
  local owner = redis.call('HGET', KEYS[7], 'node')
  if owner then channel = ARGV[8] .. owner end
end
redis.call('PUBLISH', channel, id .. ' ' .. epoch .. ' ' .. ARGV[2])
return {id, epoch}
)lua");
  return script;
}

const RedisScript& PublishBatchScript() {
  // string.format('%d'): Lua 5.1 prints a number past 1e14 as 1e+14 with `..`.
  // One ZADD per distinct topic: every event of a batch has the same `now`.
  static const RedisScript script(R"lua(
local n = (#KEYS - 3) / 3
local first = redis.call('INCRBY', KEYS[1], n) - n + 1
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[3]
  redis.call('SET', KEYS[3], epoch)
end
local floor = tonumber(ARGV[4])
if epoch == ARGV[5] and first <= floor then
  first = floor + 1
  redis.call('SET', KEYS[1], string.format('%d', first + n - 1))
end
local active = {}
for i = 0, n - 1 do
  local id = string.format('%d', first + i)
  local stream = KEYS[4 + 3 * i]
  local body = ARGV[7 + 2 * i]
  if stream ~= '' then
    redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], id .. '-0', 'e', body)
    active[ARGV[6 + 2 * i]] = KEYS[6 + 3 * i]
  end
  redis.call('PUBLISH', KEYS[5 + 3 * i], id .. ' ' .. epoch .. ' ' .. body)
end
for topic, index in pairs(active) do
  redis.call('ZADD', KEYS[2], ARGV[2], topic)
  redis.call('ZADD', index, 0, topic)
end
return {first, epoch}
)lua");
  return script;
}

}  // namespace herald
