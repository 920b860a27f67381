-- GCRA (the generic cell rate algorithm) for one key, atomically, on the server's clock.
--
-- KEYS[1]  the key: it holds the theoretical arrival time (TAT), in microseconds since the
--          epoch by Redis's own clock, so the processes' clocks do not matter.
-- ARGV[1]  the emission interval (period / limit), in microseconds, at least 1.
-- ARGV[2]  the limit: how many requests may come at once (the burst is the limit).
-- ARGV[3]  "check": count the request when it is allowed; "peek": decide, change nothing;
--          "refund": give back one request counted (the TAT one interval earlier, never
--          before now: the key is deleted when it is back to its full quota).
--
-- Returns {allowed (1/0), remaining, retry_after_us, reset_after_us} ({1, 0, 0, 0} for a
-- refund). A refused request leaves the state alone; an allowed one (checked, not peeked)
-- moves the TAT on by one interval and sets the key to expire when the key is back to its
-- full quota (then it would read as "now" anyway).

-- Redis before 5 replicates scripts by their text, which TIME would make differ on a replica.
if redis.replicate_commands then
  redis.replicate_commands()
end

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local interval = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local period = interval * limit
local mode = ARGV[3]
if mode ~= 'check' and mode ~= 'peek' and mode ~= 'refund' then
  return redis.error_reply('brisk gcra: unknown mode ' .. tostring(mode))
end

if mode == 'refund' then
  local earlier = (tonumber(redis.call('GET', KEYS[1]) or 0) or 0) - interval
  if earlier > now then
    redis.call('SET', KEYS[1], string.format('%.0f', earlier), 'PX', math.ceil((earlier - now) / 1000))
  else
    redis.call('DEL', KEYS[1])
  end
  return {1, 0, 0, 0}
end

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
if mode == 'check' then
  redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil(reset_after / 1000))
end
local remaining = math.floor((period - reset_after) / interval)
return {1, remaining, 0, reset_after}
