-- Wireshark dissector for the Roost mesh routing protocol (docs/PROTOCOL.md).
--
-- Use:   wireshark -X lua_script:contrib/wireshark/roost.lua capture.pcap
--        tshark -X lua_script:contrib/wireshark/roost.lua -r capture.pcap -V
-- or copy this file into ~/.local/lib/wireshark/plugins/.
-- Roost's UDP port is 4310 by default; for another port use
-- "Decode As..." > UDP port > ROOST, or edit ROOST_PORT below.
-- Display filter examples: roost.ogm.originator == fd77::3, roost.ogm.tq < 100,
-- roost.tlv.hostname, roost.flags.dump_req == 1.

local ROOST_PORT = 4310
local HEADER_LEN = 12

local roost = Proto("roost", "Roost mesh routing protocol")

local msg_types = { [1] = "IHU", [2] = "OGM", [3] = "SEQREQ" }
local tlv_types = {
    [1] = "PREFIX4", [2] = "PREFIX6", [3] = "GATEWAY", [4] = "HOSTNAME", [5] = "NEIGHBOURS", [6] = "GW_CHOICE", [7] = "NODE_ID",
}

local f = {
    magic = ProtoField.string("roost.magic", "Magic"),
    version = ProtoField.uint8("roost.version", "Version"),
    dtype = ProtoField.uint8("roost.type", "Datagram type", base.DEC, { [1] = "routing" }),
    flags = ProtoField.uint8("roost.flags", "Flags", base.HEX),
    flag_auth = ProtoField.bool("roost.flags.auth", "AUTH (trailer follows)", 8, nil, 0x01),
    flag_dump = ProtoField.bool("roost.flags.dump_req", "DUMP_REQ", 8, nil, 0x02),
    length = ProtoField.uint16("roost.length", "Length"),
    hello_seqno = ProtoField.uint16("roost.hello_seqno", "Hello seqno"),
    hello_interval = ProtoField.uint16("roost.hello_interval", "Hello interval (10 ms units)"),
    msg_type = ProtoField.uint8("roost.msg.type", "Message type", base.DEC, msg_types),
    msg_len = ProtoField.uint8("roost.msg.length", "Message length"),
    ihu_id = ProtoField.bytes("roost.ihu.id", "Neighbour interface id"),
    ihu_rxq = ProtoField.uint8("roost.ihu.rxq", "Receive quality"),
    ogm_orig = ProtoField.ipv6("roost.ogm.originator", "Originator"),
    ogm_seqno = ProtoField.uint32("roost.ogm.seqno", "Seqno"),
    ogm_ttl = ProtoField.uint8("roost.ogm.ttl", "TTL"),
    ogm_tq = ProtoField.uint8("roost.ogm.tq", "TQ"),
    ogm_flags = ProtoField.uint8("roost.ogm.flags", "OGM flags", base.HEX),
    ogm_update = ProtoField.bool("roost.ogm.flags.update", "UPDATE", 8, nil, 0x01),
    ogm_own = ProtoField.bool("roost.ogm.flags.own", "OWN", 8, nil, 0x02),
    ogm_urgent = ProtoField.bool("roost.ogm.flags.urgent", "URGENT", 8, nil, 0x04),
    ogm_restarted = ProtoField.bool("roost.ogm.flags.restarted", "RESTARTED", 8, nil, 0x08),
    tlv_type = ProtoField.uint8("roost.tlv.type", "TLV type", base.DEC, tlv_types),
    tlv_len = ProtoField.uint8("roost.tlv.length", "TLV length"),
    prefix = ProtoField.string("roost.tlv.prefix", "Announced prefix"),
    gw_down = ProtoField.uint32("roost.tlv.gw_down", "Gateway down (100 kbit/s)"),
    gw_up = ProtoField.uint32("roost.tlv.gw_up", "Gateway up (100 kbit/s)"),
    hostname = ProtoField.string("roost.tlv.hostname", "Hostname"),
    nb_orig = ProtoField.ipv6("roost.tlv.neighbour", "Neighbour originator"),
    nb_tq = ProtoField.uint8("roost.tlv.neighbour_tq", "Link TQ"),
    node_id = ProtoField.bytes("roost.tlv.node_id", "Node id"),
    req_orig = ProtoField.ipv6("roost.seqreq.originator", "Originator"),
    req_seqno = ProtoField.uint32("roost.seqreq.seqno", "Wanted seqno"),
    req_hops = ProtoField.uint8("roost.seqreq.hop_limit", "Hop limit"),
    req_target = ProtoField.bytes("roost.seqreq.target", "Target interface id"),
    trailer = ProtoField.bytes("roost.trailer", "Authentication trailer"),
    unknown = ProtoField.bytes("roost.unknown", "Unknown body"),
}
local field_list = {}
for _, v in pairs(f) do field_list[#field_list + 1] = v end
roost.fields = field_list

local ef_malformed = ProtoExpert.new("roost.malformed", "Malformed Roost datagram",
    expert.group.MALFORMED, expert.severity.ERROR)
roost.experts = { ef_malformed }

-- A prefix TLV body: plen, then ceil(plen/8) address bytes.
local function prefix_text(body, v4)
    local plen = body(0, 1):uint()
    local n = math.floor((plen + 7) / 8)
    local size = v4 and 4 or 16
    if body:len() ~= 1 + n or plen > size * 8 then return nil end
    local b = {}
    for i = 0, size - 1 do
        b[i + 1] = (i < n) and body(1 + i, 1):uint() or 0
    end
    if v4 then
        return string.format("%d.%d.%d.%d/%d", b[1], b[2], b[3], b[4], plen)
    end
    local groups = {}
    for i = 0, 7 do groups[i + 1] = string.format("%x", b[2 * i + 1] * 256 + b[2 * i + 2]) end
    return table.concat(groups, ":") .. "/" .. plen
end

local function dissect_tlvs(tvb, pinfo, tree)
    local off = 0
    while off + 2 <= tvb:len() do
        local t, len = tvb(off, 1):uint(), tvb(off + 1, 1):uint()
        if off + 2 + len > tvb:len() then
            tree:add_proto_expert_info(ef_malformed, "TLV runs past the OGM")
            return
        end
        local name = tlv_types[t] or "unknown"
        local sub = tree:add(roost, tvb(off, 2 + len), "TLV " .. name)
        sub:add(f.tlv_type, tvb(off, 1))
        sub:add(f.tlv_len, tvb(off + 1, 1))
        if len > 0 then
            local body = tvb(off + 2, len)
            if t == 1 or t == 2 then
                local p = prefix_text(body, t == 1)
                if p then
                    sub:add(f.prefix, body, p)
                    sub:append_text(": " .. p)
                else
                    sub:add_proto_expert_info(ef_malformed, "bad prefix length")
                end
            elseif t == 3 and len == 8 then
                sub:add(f.gw_down, body(0, 4))
                sub:add(f.gw_up, body(4, 4))
            elseif t == 4 then
                sub:add(f.hostname, body)
                sub:append_text(": " .. body:string())
            elseif t == 5 and len % 17 == 0 then
                for i = 0, len / 17 - 1 do
                    sub:add(f.nb_orig, body(i * 17, 16))
                    sub:add(f.nb_tq, body(i * 17 + 16, 1))
                end
            elseif t == 7 and len == 8 then
                sub:add(f.node_id, body)
            else
                sub:add(f.unknown, body)
            end
        end
        off = off + 2 + len
    end
end

local function dissect_message(t, body, pinfo, tree, summary)
    local len = body and body:len() or 0
    if t == 1 and len % 9 == 0 then
        for i = 0, len / 9 - 1 do
            tree:add(f.ihu_id, body(i * 9, 8))
            tree:add(f.ihu_rxq, body(i * 9 + 8, 1))
        end
        summary[#summary + 1] = "IHU"
    elseif t == 2 and len >= 23 then
        local orig = tree:add(f.ogm_orig, body(0, 16))
        tree:add(f.ogm_seqno, body(16, 4))
        tree:add(f.ogm_ttl, body(20, 1))
        tree:add(f.ogm_tq, body(21, 1))
        local fl = tree:add(f.ogm_flags, body(22, 1))
        fl:add(f.ogm_update, body(22, 1))
        fl:add(f.ogm_own, body(22, 1))
        fl:add(f.ogm_urgent, body(22, 1))
        fl:add(f.ogm_restarted, body(22, 1))
        tree:append_text(string.format(": %s seqno %d tq %d", tostring(body(0, 16):ipv6()),
            body(16, 4):uint(), body(21, 1):uint()))
        if len > 23 then dissect_tlvs(body(23):tvb(), pinfo, tree) end
        summary[#summary + 1] = "OGM"
    elseif t == 3 and len == 29 then
        tree:add(f.req_orig, body(0, 16))
        tree:add(f.req_seqno, body(16, 4))
        tree:add(f.req_hops, body(20, 1))
        tree:add(f.req_target, body(21, 8))
        summary[#summary + 1] = "SEQREQ"
    elseif len > 0 then
        tree:add(f.unknown, body)
        if t <= 3 then tree:add_proto_expert_info(ef_malformed, "bad message length") end
    end
end

function roost.dissector(tvb, pinfo, root)
    if tvb:len() < HEADER_LEN or tvb(0, 2):string() ~= "Ro" then return 0 end
    pinfo.cols.protocol = "ROOST"
    local length = tvb(6, 2):uint()
    local tree = root:add(roost, tvb(), "Roost")
    tree:add(f.magic, tvb(0, 2))
    tree:add(f.version, tvb(2, 1))
    tree:add(f.dtype, tvb(3, 1))
    local fl = tree:add(f.flags, tvb(4, 1))
    fl:add(f.flag_auth, tvb(4, 1))
    fl:add(f.flag_dump, tvb(4, 1))
    tree:add(f.length, tvb(6, 2))
    tree:add(f.hello_seqno, tvb(8, 2))
    tree:add(f.hello_interval, tvb(10, 2))
    if length < HEADER_LEN or length > tvb:len() then
        tree:add_proto_expert_info(ef_malformed, "length field does not fit the datagram")
        length = tvb:len()
    end
    local summary = {}
    local off = HEADER_LEN
    while off + 2 <= length do
        local t, len = tvb(off, 1):uint(), tvb(off + 1, 1):uint()
        if off + 2 + len > length then
            tree:add_proto_expert_info(ef_malformed, "message runs past the datagram")
            break
        end
        local sub = tree:add(roost, tvb(off, 2 + len), "Message " .. (msg_types[t] or "unknown"))
        sub:add(f.msg_type, tvb(off, 1))
        sub:add(f.msg_len, tvb(off + 1, 1))
        dissect_message(t, len > 0 and tvb(off + 2, len) or nil, pinfo, sub, summary)
        off = off + 2 + len
    end
    if length < tvb:len() then tree:add(f.trailer, tvb(length)) end
    if #summary == 0 then summary[1] = "hello" end
    pinfo.cols.info = string.format("Roost seq %d: %s", tvb(8, 2):uint(), table.concat(summary, ", "))
    return tvb:len()
end

DissectorTable.get("udp.port"):add(ROOST_PORT, roost)
