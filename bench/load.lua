-- wrk script for bench/load.sh: three requests in four list the backups
-- (on both list paths), the fourth downloads the pinned backup. The access
-- hash is the script's first argument.

local counter = 0

function init(args)
  wrk.headers["Cookie"] = "access_hash=" .. args[1]
  pinned = args[2]
end

function request()
  counter = counter + 1
  if counter % 4 == 0 then
    return wrk.format("GET", "/api/v1/backups/" .. pinned)
  elseif counter % 4 == 2 then
    return wrk.format("GET", "/api/v1/system/backups")
  else
    return wrk.format("GET", "/api/v1/backups")
  end
end
