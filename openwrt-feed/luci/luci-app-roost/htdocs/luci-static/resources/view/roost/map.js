'use strict';
'require view';
'require rpc';
'require poll';

// The whole mesh, drawn by the standalone module roost/meshmap.js from the
// NetJSON of `ubus call roost topology`; redrawn every 30 s.

var callTopology = rpc.declare({ object: 'roost', method: 'topology' });

function loadMeshMap() {
	if (window.RoostMeshMap)
		return Promise.resolve(window.RoostMeshMap);
	return new Promise(function(resolve, reject) {
		var s = document.createElement('script');
		s.src = L.resource('roost/meshmap.js');
		s.onload = function() { resolve(window.RoostMeshMap); };
		s.onerror = function() { reject(new Error(_('Cannot load the mesh map module'))); };
		document.head.appendChild(s);
	});
}

return view.extend({
	load: function() {
		return Promise.all([ loadMeshMap(), callTopology() ]);
	},

	draw: function(mesh, el, graph) {
		if (!graph || graph.error || !graph.nodes) {
			el.textContent = _('Roost is not running: %s').format((graph && graph.error) || '-');
			return;
		}
		mesh.render(el, graph, { width: Math.max(el.clientWidth || 0, 640) });
	},

	render: function(data) {
		var mesh = data[0], el = E('div', { 'class': 'roost-map', 'style': 'width:100%' });
		this.draw(mesh, el, data[1]);
		poll.add(L.bind(function() {
			return callTopology().then(L.bind(this.draw, this, mesh, el));
		}, this), 30);
		return E([], [
			E('h2', _('Roost mesh map')),
			E('p', { 'class': 'cbi-section-descr' },
				_('Every node of the mesh and the links between them, coloured by transmit quality (TQ, red 0 to green 255). Squares are gateways; this router is blue.')),
			el
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
