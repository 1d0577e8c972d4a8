/* Roost mesh map: draws a NetJSON NetworkGraph (`roost topology --netjson`,
 * `ubus call roost topology`) as SVG. Standalone, no dependencies: a
 * <script> (global RoostMeshMap) or CommonJS module; LuCI's view loads it.
 *
 *   RoostMeshMap.render(element, graph[, {width, height}]) -> <svg>
 *   RoostMeshMap.load(element, url[, opts]) -> Promise of the <svg>
 *
 * Nodes are circles (gateways: squares), the local node is highlighted,
 * unreachable ones are grey. Links are undirected lines, one per pair of
 * nodes, coloured by TQ (red 0 .. green 255): the weaker of the two
 * directions. For scripts and tests every element carries data attributes:
 * <svg data-nodes data-links>, <g class="roost-node" data-id data-gateway
 * data-local data-reachable>, <line class="roost-link" data-source
 * data-target data-tq>. The layout is deterministic (same graph, same map).
 */
(function (root, factory) {
	if (typeof module === 'object' && module.exports) module.exports = factory();
	else root.RoostMeshMap = factory();
}(typeof self !== 'undefined' ? self : this, function () {
	'use strict';
	var NS = 'http://www.w3.org/2000/svg';

	function el(name, attrs, parent) {
		var e = document.createElementNS(NS, name);
		for (var k in attrs) e.setAttribute(k, attrs[k]);
		if (parent) parent.appendChild(e);
		return e;
	}

	function tqColour(tq) {
		return 'hsl(' + Math.round(120 * Math.max(0, Math.min(255, tq)) / 255) + ',85%,40%)';
	}

	// Nodes (id -> node) and undirected links from the NetJSON graph.
	function model(graph) {
		var nodes = [], byId = {}, links = [], byPair = {};
		function node(id, n) {
			if (!byId[id]) {
				var p = (n && n.properties) || {};
				byId[id] = { id: id, label: (n && n.label) || p.hostname || id,
					addrs: (n && n.local_addresses) || [], gateway: !!p.gateway,
					local: !!p.local || id === graph.router_id,
					reachable: p.reachable !== false, x: 0, y: 0, dx: 0, dy: 0 };
				nodes.push(byId[id]);
			}
			return byId[id];
		}
		(graph.nodes || []).forEach(function (n) { node(String(n.id), n); });
		(graph.links || []).forEach(function (l) {
			var s = String(l.source), t = String(l.target);
			if (s === t) return;
			node(s); node(t);
			var key = s < t ? s + ' ' + t : t + ' ' + s, k = byPair[key];
			var tq = Number(l.properties && l.properties.tq != null ? l.properties.tq : l.cost) || 0;
			if (!k) {
				k = byPair[key] = { a: byId[s < t ? s : t], b: byId[s < t ? t : s], tq: {} };
				links.push(k);
			}
			k.tq[s] = tq;
		});
		links.forEach(function (k) {
			var v = Object.keys(k.tq).map(function (i) { return k.tq[i]; });
			k.min = Math.min.apply(null, v);
		});
		nodes.sort(function (a, b) { return a.id < b.id ? -1 : a.id > b.id ? 1 : 0; });
		return { nodes: nodes, links: links };
	}

	// Fruchterman-Reingold, started from a circle: deterministic.
	function layout(m, w, h) {
		var n = m.nodes.length, area = w * h, k = Math.sqrt(area / Math.max(n, 1)) * 0.6;
		var t = w / 10, i, j, a, b, dx, dy, d, f;
		m.nodes.forEach(function (v, i) {
			var phi = 2 * Math.PI * i / Math.max(n, 1);
			v.x = w / 2 + w / 3 * Math.cos(phi);
			v.y = h / 2 + h / 3 * Math.sin(phi);
		});
		for (var it = 0; it < 300; it++) {
			for (i = 0; i < n; i++) { m.nodes[i].dx = 0; m.nodes[i].dy = 0; }
			for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) {
				a = m.nodes[i]; b = m.nodes[j];
				dx = a.x - b.x; dy = a.y - b.y; d = Math.sqrt(dx * dx + dy * dy) || 0.01;
				f = k * k / d / d;
				a.dx += dx * f; a.dy += dy * f; b.dx -= dx * f; b.dy -= dy * f;
			}
			m.links.forEach(function (l) {
				dx = l.a.x - l.b.x; dy = l.a.y - l.b.y; d = Math.sqrt(dx * dx + dy * dy) || 0.01;
				f = d / k;
				l.a.dx -= dx * f; l.a.dy -= dy * f; l.b.dx += dx * f; l.b.dy += dy * f;
			});
			m.nodes.forEach(function (v) {
				// A weak pull to the centre keeps separate islands in view.
				v.dx += (w / 2 - v.x) * 0.02; v.dy += (h / 2 - v.y) * 0.02;
				d = Math.sqrt(v.dx * v.dx + v.dy * v.dy) || 0.01;
				v.x = Math.max(30, Math.min(w - 30, v.x + v.dx / d * Math.min(d, t)));
				v.y = Math.max(30, Math.min(h - 40, v.y + v.dy / d * Math.min(d, t)));
			});
			t = Math.max(t * 0.98, 0.5);
		}
	}

	function render(container, graph, opts) {
		opts = opts || {};
		var w = opts.width || Math.max(container.clientWidth || 0, 320) || 640;
		var h = opts.height || Math.round(w * 0.6);
		var m = model(graph || {});
		layout(m, w, h);
		var svg = el('svg', { xmlns: NS, 'class': 'roost-meshmap', width: w, height: h,
			viewBox: '0 0 ' + w + ' ' + h, 'font-family': 'sans-serif', 'font-size': 11,
			'data-nodes': m.nodes.length, 'data-links': m.links.length });
		el('rect', { width: w, height: h, fill: '#fafafa', stroke: '#ccc' }, svg);
		m.links.forEach(function (l) {
			var line = el('line', { 'class': 'roost-link', x1: l.a.x, y1: l.a.y, x2: l.b.x, y2: l.b.y,
				stroke: tqColour(l.min), 'stroke-width': 3, 'stroke-linecap': 'round',
				'data-source': l.a.id, 'data-target': l.b.id, 'data-tq': l.min }, svg);
			el('title', {}, line).textContent = l.a.label + ' \u2194 ' + l.b.label + ': TQ ' +
				Object.keys(l.tq).map(function (s) { return l.tq[s]; }).join(' / ');
		});
		m.nodes.forEach(function (v) {
			var g = el('g', { 'class': 'roost-node', transform: 'translate(' + v.x + ',' + v.y + ')',
				'data-id': v.id, 'data-gateway': v.gateway, 'data-local': v.local,
				'data-reachable': v.reachable }, svg);
			var style = { fill: v.local ? '#1565c0' : v.reachable ? '#fff' : '#ddd',
				stroke: v.local ? '#0d47a1' : v.reachable ? '#333' : '#999',
				'stroke-width': v.local ? 3 : 1.5 };
			if (!v.reachable) style['stroke-dasharray'] = '3,2';
			var shape = v.gateway ? el('rect', { x: -9, y: -9, width: 18, height: 18, rx: 2 }, g)
				: el('circle', { r: 9 }, g);
			for (var s in style) shape.setAttribute(s, style[s]);
			if (v.gateway) el('text', { 'text-anchor': 'middle', y: 4, 'font-size': 9, 'font-weight': 'bold',
				fill: v.local ? '#fff' : '#333' }, g).textContent = 'GW';
			el('text', { 'text-anchor': 'middle', y: 22 }, g).textContent = v.label;
			el('title', {}, g).textContent = v.id + (v.label !== v.id ? ' (' + v.label + ')' : '') +
				(v.gateway ? ', gateway' : '') + (v.local ? ', this node' : '') +
				(v.reachable ? '' : ', unreachable') + (v.addrs.length ? '\n' + v.addrs.join('\n') : '');
		});
		// Legend: the TQ scale.
		for (var i = 0; i <= 4; i++) {
			el('rect', { x: 8 + i * 22, y: h - 16, width: 22, height: 8, fill: tqColour(i * 255 / 4) }, svg);
		}
		el('text', { x: 122, y: h - 8 }, svg).textContent = 'TQ 0\u2013255; \u25a0 gateway; blue: this node';
		while (container.firstChild) container.removeChild(container.firstChild);
		container.appendChild(svg);
		return svg;
	}

	function load(container, url, opts) {
		return fetch(url, { cache: 'no-store' }).then(function (r) {
			if (!r.ok) throw new Error(url + ': HTTP ' + r.status);
			return r.json();
		}).then(function (g) { return render(container, g, opts); });
	}

	return { render: render, load: load, model: model, tqColour: tqColour };
}));
