-- Benchmark module: a variable callback that matches every variable (no match object) and
-- does a little work on each (reads its value, its type and its name). Used to measure what
-- module callbacks cost while the target is stopped:
--   ptrace <pid> --module-load bench/every_variable.lua
local seen = 0
local sum = 0

local function variable_cb(var)
    seen = seen + 1
    local v = var:value()
    if type(v) == "number" then
        sum = sum + 1
    end
    local _ = var:name(), var:type()
end

pmodule.define {
    id = "every_variable",
    load = function()
        pmodule.register(pmodule.event.variable, variable_cb)
        pmodule.register(pmodule.event.postattach, function(bt)
            bt:add_kv_int("every_variable_seen", seen)
            bt:add_kv_int("every_variable_numbers", sum)
        end)
    end,
}
