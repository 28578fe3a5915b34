---@meta
-- LuaLS stubs of the pmodule API of the ptrace snapshot debugger (docs/lua-api.md).
-- Put this file (or its directory) in your workspace library so editors complete and check
-- module code. It is never loaded by ptrace.

---@class pmodule
pmodule = {}

---The filter table of `bt:variables()` and `thr:variables()`: `object` and `cu` keep the variables
---whose defining object's path and compilation unit's name contain the text, `name` those of
---exactly that name.
---@alias pmodule.VariableFilter {object?: string, cu?: string, name?: string}

---@alias pmodule.Event integer
---@alias pmodule.LogLevel integer
---@alias pmodule.AnnotationLevel integer
---@alias pmodule.MatchType integer
---@alias pmodule.VariableType integer
---@alias pmodule.ProcessState integer
---@alias pmodule.PmapPerm integer

---Events (alias table: `pmodule.event_type`).
pmodule.event = { preattach = 0, attach = 1, variable = 2, frame = 3, thread = 4, postattach = 5 }
pmodule.event_type = pmodule.event
pmodule.log_level = { debug = 0, info = 1, warning = 2, error = 3 }
pmodule.annotation = { comment = 0, warning = 1, critical = 2, json = 3 }
pmodule.match_type = { exact = 0, substr = 1 }
pmodule.variable_type = {
    ll = 0, ull = 1, flt = 2, dbl = 3, ldbl = 4, cflt = 5, cdbl = 6, cldbl = 7, string = 8,
    enum = 9, tuple = 10, array = 11, bottom = 12, fn = 13, reference = 14,
}
pmodule.process_state = {
    running = 0, sleeping = 1, disk = 2, stopped = 3, traced = 4, zombie = 5, dead = 6, idle = 7,
    blocked = 8, queued = 9, unknown = 10, core = 11,
}
pmodule.pmap_perms = { ex = 1, rd = 2, wr = 4, pr = 8, sh = 16, all = 7 }

---@class pmodule.Definition
---@field id string unique module id
---@field load fun() registers callbacks; called at once by `pmodule.define`
---@field unload? fun() called before exit
---@field reset? fun() called between snapshots

---Defines the module and calls its `load` at once.
---@param definition pmodule.Definition
function pmodule.define(definition) end

---A `preattach`, `attach` or `postattach` callback: the backtrace (the snapshot and its process).
---@alias pmodule.BacktraceCallback fun(bt: pmodule.Backtrace)
---A `thread` callback: the thread, complete with its frames.
---@alias pmodule.ThreadCallback fun(thr: pmodule.Thread)
---A `frame` callback: the frame, complete with its variables.
---@alias pmodule.FrameCallback fun(fr: pmodule.Frame)
---A `variable` callback: the variable (valid only until the callback returns) and its bt variable
---(`nil` when no typed view exists; passed only to a callback that declares a second parameter).
---@alias pmodule.VariableCallback fun(var: pmodule.Variable, btvar: pmodule.BtVariable|nil)

---Registers a callback for an event, optionally filtered by a match (copied at registration).
---Call it from the module's `load` function. `preattach`, `attach` and `postattach` callbacks get
---the backtrace, `thread` callbacks a thread, `frame` callbacks a frame, `variable` callbacks the
---variable and its bt variable.
---@param event pmodule.Event|"preattach"|"attach"|"variable"|"frame"|"thread"|"postattach"
---@param callback pmodule.BacktraceCallback|pmodule.ThreadCallback|pmodule.FrameCallback|pmodule.VariableCallback
---@param match? pmodule.Match
---@overload fun(event: "preattach"|"attach"|"postattach", callback: pmodule.BacktraceCallback)
---@overload fun(event: "thread", callback: pmodule.ThreadCallback, match?: pmodule.Match)
---@overload fun(event: "frame", callback: pmodule.FrameCallback, match?: pmodule.Match)
---@overload fun(event: "variable", callback: pmodule.VariableCallback, match?: pmodule.Match)
function pmodule.register(event, callback, match) end
pmodule.event_register = pmodule.register

---Logs a line (`string.format` semantics when arguments follow `fmt`; `fmt` as is otherwise).
---@param level pmodule.LogLevel
---@param fmt string
---@param ... any
function pmodule.log(level, fmt, ...) end

---The value passed with `--module=<id>:key,value,...`.
---@param key string
---@return string|nil
function pmodule.config_option(key) end

---The backtrace object (valid during callbacks).
---@return pmodule.Backtrace
function pmodule.backtrace() end

---@param addr integer
---@param size integer
---@return string|nil bytes the bytes read (may be shorter)
function pmodule.address_read_raw(addr, size) end

---@param addr integer
---@param max integer
---@return string|nil
function pmodule.address_read_string(addr, max) end

---@param symbol string
---@param object? string
---@return integer|nil
function pmodule.symbol_address(symbol, object) end

---@param addr integer
---@return string|nil
function pmodule.address_symbol(addr) end

---@param symbol string
---@param object string|nil
---@param size integer
---@return string|nil
function pmodule.symbol_read_raw(symbol, object, size) end

---@param symbol string
---@param object string|nil
---@param size integer
---@return string|nil
function pmodule.symbol_read_string(symbol, object, size) end

---@return boolean
function pmodule.pmap_enabled() end

---@return boolean
function pmodule.pmap_cached() end

---The bt variable of a global (`object` and `cu` are substring filters).
---@param name string
---@param object? string
---@param cu? string
---@return pmodule.BtVariable|nil
function pmodule.bt_query(name, object, cu) end

---A temporary pmodule variable with the value read (freed after the callback; cannot be added).
---@param btvar pmodule.BtVariable
---@return pmodule.Variable
function pmodule.variable_from_bt(btvar) end

---The pointee of a pointer bt variable, at its value or at `address`.
---@param btvar pmodule.BtVariable
---@param address? integer
---@return pmodule.BtVariable
function pmodule.deref(btvar, address) end

---@param btvar pmodule.BtVariable
---@return integer
function pmodule.sizeof(btvar) end

---A new variable (kind `bottom` until a `set_*` method sets it); insert it with `frame:add_variable`.
---@param type_name string
---@param name string
---@param addr integer
---@param offset integer array index, -1 when not an array element
---@param owner? pmodule.Variable
---@return pmodule.Variable
function pmodule.create_variable(type_name, name, addr, offset, owner) end

---A new frame; insert it with `thread:add_frame` or `frame:add_frame`.
---@return pmodule.Frame
function pmodule.create_frame() end

---@return pmodule.Match
function pmodule.match() end

---@class pmodule.Match
local Match = {}
function Match:reset() end
---@param s string
---@param mt? pmodule.MatchType
function Match:add_object(s, mt) end
---@param s string
---@param mt? pmodule.MatchType
function Match:add_file(s, mt) end
---@param s string
---@param mt? pmodule.MatchType
function Match:add_frame_symbol(s, mt) end
---@param s string
---@param mt? pmodule.MatchType
function Match:add_variable_base_type(s, mt) end
Match.add_base_type = Match.add_variable_base_type
---@param kind pmodule.VariableType
function Match:add_variable_ptrace_type(kind) end
---@param s string
---@param mt? pmodule.MatchType
function Match:add_variable_name(s, mt) end
---`set_fault()`: faulting frames and what is in them; `set_fault(true)`: the faulting thread.
---@param thread? boolean
function Match:set_fault(thread) end

---@class pmodule.Backtrace
---`for thr in bt [, match] do`
---@overload fun(match: pmodule.Match|nil, prev: pmodule.Thread|nil): pmodule.Thread|nil
local Backtrace = {}
---@return integer
function Backtrace:pid() end
---@return string
function Backtrace:application_name() end
---@return pmodule.ProcessState
function Backtrace:process_state() end
---@param addr integer
---@return pmodule.Pmap|nil
function Backtrace:pmap_entry(addr) end
---@param k string
---@param n integer
function Backtrace:add_kv_int(k, n) end
---@param k string
---@param s string
function Backtrace:add_kv_string(k, s) end
---@param s string
function Backtrace:add_classifier(s) end
---@param s string
function Backtrace:add_tag(s) end
---@param level pmodule.AnnotationLevel
---@param fmt string
---@param ... any
function Backtrace:annotate(level, fmt, ...) end
---`for var, object, cu in bt:variables(), {object =, cu =, name =} do` (globals).
---@return fun(filter: pmodule.VariableFilter|nil, prev: pmodule.Variable|nil): pmodule.Variable|nil, string, string
function Backtrace:variables() end

---@class pmodule.Thread
---`for fr in thr [, match] do` (innermost first)
---@overload fun(match: pmodule.Match|nil, prev: pmodule.Frame|nil): pmodule.Frame|nil
local Thread = {}
---@return integer
function Thread:tid() end
---@return boolean
function Thread:fault() end
---@return pmodule.Backtrace
function Thread:backtrace() end
---@return integer
function Thread:n_frames() end
---@return integer
function Thread:n_kframes() end
---@param s string
function Thread:set_name(s) end
---@param fr pmodule.Frame
---@param first? boolean default true
function Thread:add_frame(fr, first) end
---@param level pmodule.AnnotationLevel
---@param fmt string
---@param ... any
function Thread:annotate(level, fmt, ...) end
---`for var, object, cu in thr:variables(), filter do` (thread-local variables).
---@return fun(filter: pmodule.VariableFilter|nil, prev: pmodule.Variable|nil): pmodule.Variable|nil, string, string
function Thread:variables() end

---@class pmodule.Frame
---`for var in fr [, match] do`
---@overload fun(match: pmodule.Match|nil, prev: pmodule.Variable|nil): pmodule.Variable|nil
local Frame = {}
---@return integer
function Frame:instruction() end
---@return string|nil
function Frame:symbol() end
---@return string|nil
function Frame:path() end
---@return string|nil
function Frame:object_file() end
---@return integer|nil
function Frame:line() end
---@return integer|nil
function Frame:decl_line() end
---@return boolean
function Frame:line_resolved() end
---@return pmodule.Thread|nil
function Frame:thread() end
---@return pmodule.Backtrace
function Frame:backtrace() end
---@return pmodule.SigInfo|nil
function Frame:siginfo() end
---@param i integer 0-based parameter index
---@return pmodule.Variable|nil
function Frame:fprm_at(i) end
---`for var, i in fr:fprm() do`
---@return fun(): pmodule.Variable|nil, integer
function Frame:fprm() end
---@param s string
function Frame:set_symbol(s) end
---@param s string
function Frame:set_basename(s) end
---@param s string
function Frame:set_directory(s) end
---@param s string
function Frame:set_path(s) end
---@param n integer
function Frame:set_line(n) end
---@param n integer
function Frame:set_decl_line(n) end
---@param var pmodule.Variable
---@param insert_after? boolean default true
function Frame:add_variable(var, insert_after) end
---@param fr pmodule.Frame
---@param insert_after? boolean default false
function Frame:add_frame(fr, insert_after) end
---@param level pmodule.AnnotationLevel
---@param fmt string
---@param ... any
function Frame:annotate(level, fmt, ...) end

---@class pmodule.Variable
local Variable = {}
---@return string
function Variable:name() end
---@return integer|nil
function Variable:address() end
---@return pmodule.VariableType
function Variable:type() end
---@return string e.g. `struct(crash)`
function Variable:type_name() end
---@return string
function Variable:base_type() end
---@return string|nil
function Variable:symbol() end
---@return integer|number|nil value
---@return number|nil imaginary part (complex kinds)
function Variable:value() end
---@return pmodule.Variable|nil
function Variable:owner() end
---@return pmodule.Frame|nil
function Variable:frame() end
---@return pmodule.Thread|nil
function Variable:thread() end
---@return pmodule.Backtrace
function Variable:backtrace() end
---@return integer 0-based parameter index, -1 when not a parameter
function Variable:fprm_offset() end
---@return boolean
function Variable:resolved() end
---@return boolean
function Variable:is_string() end
function Variable:set_struct() end
function Variable:set_array() end
---@param sym? string
function Variable:set_function(sym) end
---@param s string
---@param sym? string
function Variable:set_string(s, sym) end
---@param n integer
---@param sym? string
function Variable:set_enum(n, sym) end
---@param addr integer
---@param sym? string
function Variable:set_ref(addr, sym) end
---@param n integer
function Variable:set_ll(n) end
---@param n integer
function Variable:set_ull(n) end
---@param x number
function Variable:set_dbl(x) end
---@param re number
---@param im number
function Variable:set_cdbl(re, im) end
---@param level pmodule.AnnotationLevel
---@param fmt string
---@param ... any
function Variable:annotate(level, fmt, ...) end

---A typed view of target memory: `btvar.member` (pointers followed to the struct) and
---`btvar[i]` (array or pointer element). Read values with `pmodule.variable_from_bt`.
---@class pmodule.BtVariable
---@field [string] pmodule.BtVariable
---@field [integer] pmodule.BtVariable

---@class pmodule.SigInfo
local SigInfo = {}
---@return string reason
---@return boolean sent_by_kill
function SigInfo:reason() end
---@return boolean
function SigInfo:address_populated() end
---@return integer
function SigInfo:address() end
---@return integer
function SigInfo:num() end
---@return integer
function SigInfo:code() end

---@class pmodule.Pmap
local Pmap = {}
---@return boolean
function Pmap:guard() end
---@param flag pmodule.PmapPerm
---@param ... pmodule.PmapPerm
---@return boolean all the flags are set
function Pmap:permissions(flag, ...) end
---@return integer
function Pmap:start() end
---@return integer one past the end
function Pmap:stop() end
---@return string
function Pmap:path() end
