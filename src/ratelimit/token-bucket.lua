-- Token bucket: refill and take in one atomic step, on the Redis clock.
--
-- KEYS[1]  rl:{user_id}:{read|write} or rl:addr:{client address}:register
-- ARGV[1]  capacity (tokens; also what a full window refills)
-- ARGV[2]  window in seconds (time to refill from empty to full)
-- ARGV[3]  cost in tokens
-- ARGV[4]  key TTL in seconds (must outlive a full refill, or an idle key would reset early)
--
-- Integer arithmetic only. One token is `window_us` units and the bucket gains `capacity` units
-- per microsecond, so every quantity is an exact integer inside Lua's doubles as long as
-- capacity * window_us < 2^53 (the caller enforces that). Returned values are integers because
-- Redis truncates Lua numbers to integers on the way out.
--
-- Returns { allowed (0|1), remaining tokens, retry_after_ms, reset_ms (until full) }.

local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local window_us = tonumber(ARGV[2]) * 1000000
local cost_units = tonumber(ARGV[3]) * window_us
local ttl = tonumber(ARGV[4])
local full = capacity * window_us

local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])

local state = redis.call('HMGET', key, 'units', 'updated_us')
local units = tonumber(state[1])
local updated = tonumber(state[2])
if units == nil or updated == nil then
  units = full
else
  local elapsed = now - updated
  -- The Redis clock can step back after a failover; never refill negatively.
  if elapsed < 0 then elapsed = 0 end
  if elapsed > window_us then elapsed = window_us end
  units = math.min(full, units + elapsed * capacity)
end

local allowed = 0
local retry_after_us = 0
if units >= cost_units then
  units = units - cost_units
  allowed = 1
else
  retry_after_us = math.ceil((cost_units - units) / capacity)
end

redis.call('HSET', key, 'units', string.format('%.0f', units), 'updated_us', string.format('%.0f', now))
redis.call('EXPIRE', key, ttl)

local remaining = math.floor(units / window_us)
local reset_us = math.ceil((full - units) / capacity)
return { allowed, remaining, math.ceil(retry_after_us / 1000), math.ceil(reset_us / 1000) }
