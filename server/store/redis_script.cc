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
if KEYS[2] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-0', 'e', ARGV[2])
  redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
end
local channel = KEYS[5]
if KEYS[6] and KEYS[6] ~= '' then
  -- A whisper to a long-poll session that moved to another node goes there.
  local owner = redis.call('HGET', KEYS[6], 'node')
  if owner then channel = ARGV[6] .. owner end
end
redis.call('PUBLISH', channel, id .. ' ' .. epoch .. ' ' .. ARGV[2])
return {id, epoch}
)lua");
  return script;
}

}  // namespace herald
