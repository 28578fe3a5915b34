-- A pretty-printer: the std::string variables `step` and `note` of Auditor::walk get their text.
local function string_cb(var, btvar)
    if btvar == nil then
        return
    end
    -- libstdc++ keeps the text behind _M_dataplus._M_p, a char *.
    local data = pmodule.variable_from_bt(btvar._M_dataplus._M_p)
    local text = pmodule.address_read_string(data:value(), 256)
    if text == nil then
        var:annotate(pmodule.annotation.warning, "std_string: unreadable std::string")
        return
    end
    var:set_string(text)
end

pmodule.define{ id = "std_string", load = function()
    local m = pmodule.match()
    m:add_frame_symbol("Auditor::walk", pmodule.match_type.substr)
    m:add_variable_name("step")
    m:add_variable_name("note")
    pmodule.register(pmodule.event.variable, string_cb, m)
end }
