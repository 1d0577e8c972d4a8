'use strict';
'require view';
'require rpc';
'require poll';

// Roost's status: the daemon, its originators, neighbours and gateways,
// from the rpcd plugin (ubus object roost), refreshed every 5 s.

var callStatus = rpc.declare({ object: 'roost', method: 'status' });
var callOriginators = rpc.declare({ object: 'roost', method: 'originators' });
var callNeighbours = rpc.declare({ object: 'roost', method: 'neighbours' });
var callGateways = rpc.declare({ object: 'roost', method: 'gateways' });

function name(host, addr) {
	return host ? '%s (%s)'.format(host, addr) : (addr || '-');
}

function age(ms) {
	return (ms == null) ? '-' : '%.1f s'.format(ms / 1000);
}

function table(headers) {
	return E('table', { 'class': 'table' }, [
		E('tr', { 'class': 'tr table-titles' }, headers.map(function(h) {
			return E('th', { 'class': 'th' }, h);
		}))
	]);
}

return view.extend({
	load: function() {
		return Promise.all([ callStatus(), callOriginators(), callNeighbours(), callGateways() ]);
	},

	update: function(t, data) {
		var st = data[0] || {}, orig = (data[1] || {}).originators || [],
		    nb = (data[2] || {}).neighbours || [], gw = (data[3] || {}).gateways || [];

		if (st.error) {
			t.info.textContent = _('Roost is not running: %s').format(st.error);
		}
		else {
			t.info.textContent = _('Roost %s, up %d s, originator %s; %d neighbours, %d of %d originators routed; kernel routes %s.').format(
				st.version, st.uptime_s, name(st.hostname, st.originator), st.neighbours,
				st.routed, st.originators, (st.kernel && st.kernel.in_sync) ? _('in sync') : _('syncing'));
		}

		cbi_update_table(t.orig, orig.map(function(o) {
			return [ name(o.hostname, o.originator), o.tq, o.via || '-', o.iface || '-',
				age(o.last_seen_ms), (o.announced || []).join(', ') ];
		}), E('em', _('No originators known')));

		cbi_update_table(t.nb, nb.map(function(n) {
			return [ n.iface, n.addr, name(n.hostname, n.originator), n.rx_quality, n.tx_quality,
				n.link_tq, age(n.last_seen_ms) ];
		}), E('em', _('No neighbours')));

		cbi_update_table(t.gw, gw.map(function(g) {
			return [ name(g.hostname, g.originator), g.tq, g.via || '-', g.iface || '-',
				'%.1f / %.1f Mbit/s'.format((g.down_kbps || 0) / 1000, (g.up_kbps || 0) / 1000) ];
		}), E('em', _('No gateways in the mesh')));
	},

	render: function(data) {
		var t = {
			info: E('p'),
			orig: table([ _('Originator'), _('TQ'), _('Via'), _('Interface'), _('Last seen'), _('Announces') ]),
			nb: table([ _('Interface'), _('Neighbour'), _('Originator'), _('RX'), _('TX'), _('Link TQ'), _('Last seen') ]),
			gw: table([ _('Gateway'), _('TQ'), _('Via'), _('Interface'), _('Down / up') ])
		};

		this.update(t, data);
		poll.add(L.bind(function() {
			return this.load().then(L.bind(this.update, this, t));
		}, this), 5);

		return E([], [
			E('h2', _('Roost mesh')),
			E('div', { 'class': 'cbi-section' }, [ t.info ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Originators')), t.orig ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Neighbours')), t.nb ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Gateways')), t.gw ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
