-- wrk: POST a fixed body (BODY_FILE) with fixed headers (HEADERS_FILE, "Name: value" lines); when DELIVERY_HEADER
-- is set, every request carries a unique value in it (a new webhook delivery each time, not a duplicate).
local body_file = os.getenv("BODY_FILE")
local headers_file = os.getenv("HEADERS_FILE")
local delivery_header = os.getenv("DELIVERY_HEADER")
local thread_counter = 0
local thread_id = 0
local counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("thread_id", thread_counter)
end

function init(args)
  local f = assert(io.open(body_file, "rb"))
  wrk.body = f:read("*a")
  f:close()
  wrk.method = "POST"
  if headers_file then
    for line in io.lines(headers_file) do
      local name, value = line:match("^([^:]+):%s*(.*)$")
      if name then wrk.headers[name] = value end
    end
  end
end

function request()
  if delivery_header and delivery_header ~= "" then
    counter = counter + 1
    wrk.headers[delivery_header] = "bench-" .. thread_id .. "-" .. counter .. "-" .. os.time()
  end
  return wrk.format()
end
