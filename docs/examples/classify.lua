-- A classifier: says what the snapshot is about, for whoever sorts snapshots (a crash backend,
-- grep): "hang" with the number of threads parked in hang_wait, "fault" with the signal's tag.
local function classify(bt)
    local waiting = 0
    for thr in bt do
        for fr in thr do
            if fr:symbol() == "hang_wait" then
                waiting = waiting + 1
                break
            end
        end
    end
    bt:add_kv_int("waiting_threads", waiting)
    if waiting > 0 then
        bt:add_classifier("hang")
    end

    local m = pmodule.match()
    m:set_fault()
    for thr in bt, m do
        for fr in thr, m do
            local signal = fr:siginfo()
            if signal ~= nil then
                bt:add_classifier("fault")
                bt:add_tag(string.format("signal:%d", signal:num()))
            end
        end
    end
end

pmodule.define{ id = "classify", load = function()
    pmodule.register(pmodule.event.postattach, classify)
end }
