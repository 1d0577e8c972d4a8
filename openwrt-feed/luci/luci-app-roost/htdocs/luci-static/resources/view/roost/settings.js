'use strict';
'require view';
'require form';
'require tools.widgets as widgets';

// A form over /etc/config/roost (docs/CONFIG.md). Only options the daemon
// knows are written: it rejects unknown ones. Save & Apply reloads Roost
// (SIGHUP, routes stay in place).

return view.extend({
	render: function() {
		var m, s, o;

		m = new form.Map('roost', _('Roost mesh'),
			_('Roost routes between the routers of the mesh. Give every router a LAN prefix of its own and announce it here.'));

		s = m.section(form.TypedSection, 'roost', _('Node'));
		s.anonymous = true;
		s.addremove = false;

		o = s.option(form.DynamicList, 'announce', _('Announced prefixes'),
			_('This router\'s LAN, e.g. 10.77.3.0/24 or fd77:3::/64: unique in the mesh.'));
		o.datatype = 'cidr';

		o = s.option(form.Value, 'gateway', _('Gateway mode'),
			_('auto: offer this router\'s uplink while it has one, else use the best gateway of the mesh. server=DOWN/UP and auto=DOWN/UP announce a bandwidth in Mbit/s.'));
		o.value('auto', _('auto'));
		o.value('client', _('client: use a gateway of the mesh'));
		o.value('server', _('server: offer this router\'s uplink'));
		o.value('off', _('off'));
		o.placeholder = 'client';
		o.validate = function(section_id, value) {
			return (value == '' || /^(off|client|(server|auto)(=\d+(\.\d)?\/\d+(\.\d)?)?)$/.test(value))
				? true : _('Expecting off, client, server[=DOWN/UP] or auto[=DOWN/UP]');
		};

		o = s.option(form.Value, 'originator', _('Originator'),
			_('The node\'s identity. Default: derived from the MAC address of the first mesh interface.'));
		o.datatype = 'ipaddr';
		o.optional = true;

		o = s.option(form.Value, 'hostname', _('Hostname'), _('Announced to the mesh. Default: the system hostname.'));
		o.datatype = 'hostname';
		o.optional = true;

		o = s.option(form.ListValue, 'log_level', _('Log level'));
		o.value('error');
		o.value('warn');
		o.value('info');
		o.value('debug');
		o.default = 'info';

		o = s.option(form.Value, 'table', _('Routing table'));
		o.datatype = 'range(1,4294967295)';
		o.placeholder = '76';
		o.optional = true;

		o = s.option(form.Value, 'port', _('UDP port'));
		o.datatype = 'port';
		o.placeholder = '4310';
		o.optional = true;

		s = m.section(form.TypedSection, 'interface', _('Mesh interfaces'),
			_('One section per interface Roost meshes on: an 802.11s wifi interface, a cable or a tunnel.'));
		s.addremove = true;
		s.anonymous = false;

		o = s.option(form.Flag, 'disabled', _('Disabled'));
		o.rmempty = false;

		o = s.option(widgets.DeviceSelect, 'ifname', _('Device'), _('Default: the section name.'));
		o.noaliases = true;
		o.optional = true;

		o = s.option(form.ListValue, 'type', _('Type'));
		o.value('', _('detect'));
		o.value('wireless', _('wireless'));
		o.value('wired', _('wired'));
		o.value('tunnel', _('tunnel'));
		o.optional = true;

		return m.render();
	}
});
