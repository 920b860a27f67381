-- GCRA (the generic cell rate algorithm) for one key, atomically, on the server's clock.
--
-- KEYS[1]  the key: it holds the theoretical arrival time (TAT), in microseconds since the
--          epoch by Redis's own clock, so the processes' clocks do not matter.
-- ARGV[1]  the emission interval (period / limit), in microseconds, at least 1.
-- ARGV[2]  the limit: how many requests may come at once (the burst is the limit).
-- ARGV[3]  "peek": decide, change nothing; "check": count the request when it is allowed.
--
-- Returns {allowed (1/0), remaining, retry_after_us, reset_after_us}. A refused request
-- leaves the state alone; an allowed one (checked, not peeked) moves the TAT on by one
-- interval and sets the key to expire when the key is back to its full quota (then it would
-- read as "now" anyway).

-- Redis before 5 replicates scripts by their text, which TIME would make differ on a replica.
if redis.replicate_commands then
  redis.replicate_commands()
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = interval * limit

local tat = tonumber(redis.call('GET', KEYS[1]) or now) or now
if tat < now then
  tat = now
end

local new_tat = tat + interval
local allow_at = new_tat - period
if allow_at > now then
  return {0, 0, allow_at - now, tat - now}
end

local reset_after = new_tat - now
if ARGV[3] ~= 'peek' then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(reset_after / 1000))
end
local remaining = math.floor((period - reset_after) / interval)
return {1, remaining, 0, reset_after}
