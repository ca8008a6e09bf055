// The admin dashboard: polls /api/admin/stats and /api/admin/tasks every 2 s with the admin token
// kept in sessionStorage, and draws its charts as plain SVG (no external assets).
(function () {
  'use strict';
  var $ = function (selector) {
    return document.querySelector(selector);
  };
  var SVG = 'http://www.w3.org/2000/svg';
  var TOKEN_KEY = 'notify.admin.token';
  var POLL_MS = 2000;
  var STATUS_COLORS = {
    SUCCESS: '#16a34a',
    FAILURE: '#dc2626',
    STARTED: '#2563eb',
    RETRY: '#d97706',
    REVOKED: '#6b7280',
    RECEIVED: '#0891b2',
    REJECTED: '#9333ea',
    IGNORED: '#a3a3a3',
    PENDING: '#94a3b8',
  };
  var STATUS_ORDER = [
    'SUCCESS',
    'FAILURE',
    'STARTED',
    'RETRY',
    'REVOKED',
    'RECEIVED',
    'REJECTED',
    'IGNORED',
    'PENDING',
  ];

  var token = sessionStorage.getItem(TOKEN_KEY);
  var timer = null;
  var selectedTask = null;
  var lastOk = 0;

  function colorOf(status) {
    return STATUS_COLORS[status] || '#7c3aed';
  }

  function el(tag, className, text) {
    var element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined && text !== null) element.textContent = text;
    return element;
  }

  function svg(tag, attributes, parent) {
    var element = document.createElementNS(SVG, tag);
    Object.keys(attributes || {}).forEach(function (name) {
      element.setAttribute(name, attributes[name]);
    });
    if (parent) parent.appendChild(element);
    return element;
  }

  function api(path) {
    return fetch(path, { headers: { authorization: 'Bearer ' + token } }).then(function (response) {
      if (response.status === 401 || response.status === 403) {
        var error = new Error(
          response.status === 403
            ? '403 Forbidden: this token has no admin rights (it needs is_staff: true or the admin role).'
            : '401 Unauthorized: the token is missing, invalid or expired.',
        );
        error.status = response.status;
        throw error;
      }
      if (!response.ok) throw new Error(path + ' answered HTTP ' + response.status);
      return response.json();
    });
  }

  // --- login -------------------------------------------------------------------------------------

  function showLogin(message) {
    stopPolling();
    $('#dashboard').hidden = true;
    $('#toolbar').hidden = true;
    $('#login').hidden = false;
    $('#login-error').textContent = message || '';
    $('#login-error').hidden = !message;
  }

  function signIn(candidate) {
    token = candidate;
    return api('/api/admin/stats?minutes=' + $('#window').value).then(
      function (stats) {
        sessionStorage.setItem(TOKEN_KEY, token);
        $('#login').hidden = true;
        $('#dashboard').hidden = false;
        $('#toolbar').hidden = false;
        renderStats(stats);
        refresh();
      },
      function (error) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(error.message);
      },
    );
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    $('#admin-token').value = '';
    showLogin('');
  }

  // --- polling -----------------------------------------------------------------------------------

  function stopPolling() {
    if (timer) clearTimeout(timer);
    timer = null;
  }

  function tasksQuery() {
    var query = new URLSearchParams({ limit: '50' });
    if ($('#filter-status').value) query.set('status', $('#filter-status').value);
    if ($('#filter-name').value.trim()) query.set('name', $('#filter-name').value.trim());
    if ($('#filter-user').value.trim()) query.set('user', $('#filter-user').value.trim());
    return '/api/admin/tasks?' + query.toString();
  }

  function refresh() {
    stopPolling();
    Promise.all([api('/api/admin/stats?minutes=' + $('#window').value), api(tasksQuery())])
      .then(function (answers) {
        renderStats(answers[0]);
        renderTasks(answers[1].results);
        lastOk = Date.now();
        $('#live-dot').classList.remove('stale');
      })
      .catch(function (error) {
        if (error.status) return showLogin(error.message);
        $('#live-dot').classList.add('stale');
        $('#updated').textContent = 'update failed: ' + error.message;
      })
      .then(function () {
        if (token && !$('#dashboard').hidden) timer = setTimeout(refresh, POLL_MS);
      });
  }

  // --- stats -------------------------------------------------------------------------------------

  function formatMs(ms) {
    if (ms === null || ms === undefined) return '–';
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  }

  function renderStats(stats) {
    var totals = stats.totals;
    var total = Object.keys(totals).reduce(function (sum, status) {
      return sum + totals[status];
    }, 0);
    var success = totals.SUCCESS || 0;
    var failed = totals.FAILURE || 0;
    $('#kpi-total').textContent = total.toLocaleString();
    $('#kpi-total-sub').textContent = 'last ' + windowLabel(stats.window.minutes);
    $('#kpi-success').textContent = total ? ((100 * success) / total).toFixed(1) + '%' : '–';
    $('#kpi-success-sub').textContent = failed ? failed.toLocaleString() + ' failed' : 'no failures';
    $('#kpi-throughput').textContent = String(stats.throughput_per_minute);
    $('#kpi-latency').textContent = formatMs(stats.latency_ms.avg);
    $('#kpi-latency-sub').textContent =
      stats.latency_ms.p95 === null ? 'receipt → result' : 'p95 ' + formatMs(stats.latency_ms.p95);
    $('#kpi-sockets').textContent = stats.sockets.connections.toLocaleString();
    var gateways = stats.sockets.gateways.length;
    $('#kpi-sockets-sub').textContent =
      stats.sockets.users.toLocaleString() +
      (stats.sockets.users === 1 ? ' user' : ' users') +
      (stats.sockets.scope === 'cluster'
        ? ' on ' + gateways + (gateways === 1 ? ' gateway' : ' gateways')
        : ' on this gateway (cluster presence unavailable)') +
      ' · ' +
      (stats.sockets.connections - stats.sockets.streams).toLocaleString() +
      ' WebSockets, ' +
      stats.sockets.streams.toLocaleString() +
      ' SSE streams';
    $('#kpi-sockets-sub').title = stats.sockets.gateways
      .map(function (share) {
        return (
          share.gateway +
          (share.this ? ' (this one)' : '') +
          ': ' +
          (share.connections - share.streams) +
          ' WebSockets, ' +
          share.streams +
          ' SSE streams, ' +
          share.users +
          ' users'
        );
      })
      .join('\n');
    $('#kpi-broadcasts').textContent = stats.broadcasts.toLocaleString();
    $('#kpi-broadcasts-sub').textContent = 'to everyone, last ' + windowLabel(stats.window.minutes);
    var dead = stats.dead_letter.messages;
    $('#kpi-dead').textContent = dead === null ? 'n/a' : dead.toLocaleString();
    $('#kpi-dead').classList.toggle('alert', dead > 0);
    $('#kpi-dead-sub').textContent = 'in ' + stats.dead_letter.queue;
    $('#kpi-dead-sub').title = stats.dead_letter.queue;
    $('#updated').textContent = 'Live · updated ' + new Date(stats.generated_at).toLocaleTimeString();
    drawTimeline(stats.series);
    drawDonut(totals, total);
  }

  function windowLabel(minutes) {
    return minutes % 60 === 0 ? minutes / 60 + (minutes === 60 ? ' hour' : ' hours') : minutes + ' min';
  }

  function statusesIn(counts) {
    var present = Object.keys(counts);
    return STATUS_ORDER.filter(function (s) {
      return present.indexOf(s) >= 0;
    }).concat(
      present.filter(function (s) {
        return STATUS_ORDER.indexOf(s) < 0;
      }),
    );
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    return 10 * magnitude;
  }

  function drawTimeline(series) {
    var box = $('#timeline');
    var width = Math.max(320, box.clientWidth);
    var height = 230;
    var margin = { top: 10, right: 8, bottom: 24, left: 36 };
    var plotW = width - margin.left - margin.right;
    var plotH = height - margin.top - margin.bottom;
    var all = {};
    var max = 0;
    series.forEach(function (point) {
      var sum = 0;
      Object.keys(point.counts).forEach(function (s) {
        all[s] = true;
        sum += point.counts[s];
      });
      max = Math.max(max, sum);
    });
    var top = niceMax(max);
    var root = svg('svg', {
      width: width,
      height: height,
      viewBox: '0 0 ' + width + ' ' + height,
      role: 'img',
      'aria-label': 'tasks per minute by status',
    });
    var axis = svg('g', { class: 'axis' }, root);
    for (var t = 0; t <= 4; t++) {
      var value = (top / 4) * t;
      var y = margin.top + plotH - (value / top) * plotH;
      svg('line', { x1: margin.left, x2: width - margin.right, y1: y, y2: y }, axis);
      svg('text', { x: margin.left - 6, y: y + 4, 'text-anchor': 'end' }, axis).textContent = String(
        Math.round(value * 10) / 10,
      );
    }
    var slot = plotW / series.length;
    var barW = Math.max(1, slot * 0.72);
    var labelEvery = Math.ceil(series.length / Math.max(1, Math.floor(plotW / 70)));
    var statuses = statusesIn(all);
    series.forEach(function (point, i) {
      var x = margin.left + i * slot + (slot - barW) / 2;
      var base = margin.top + plotH;
      var total = 0;
      statuses.forEach(function (status) {
        var count = point.counts[status] || 0;
        if (!count) return;
        var h = (count / top) * plotH;
        base -= h;
        total += count;
        svg('rect', { x: x, y: base, width: barW, height: h, fill: colorOf(status), rx: Math.min(2, barW / 3) }, root);
      });
      var time = new Date(point.minute);
      var hover = svg(
        'rect',
        { x: margin.left + i * slot, y: margin.top, width: slot, height: plotH, fill: 'transparent' },
        root,
      );
      svg('title', {}, hover).textContent =
        time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) +
        ': ' +
        total +
        ' task' +
        (total === 1 ? '' : 's') +
        statuses
          .filter(function (s) {
            return point.counts[s];
          })
          .map(function (s) {
            return '\n' + s + ' ' + point.counts[s];
          })
          .join('');
      if ((series.length - 1 - i) % labelEvery === 0) {
        var last = i === series.length - 1;
        svg(
          'text',
          {
            x: last ? width - margin.right : margin.left + i * slot + slot / 2,
            y: height - 6,
            'text-anchor': last ? 'end' : 'middle',
          },
          axis,
        ).textContent = time.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      }
    });
    box.replaceChildren(root);
    legend($('#timeline-legend'), statuses.length ? statuses : ['SUCCESS', 'FAILURE'], null);
  }

  function drawDonut(totals, total) {
    var size = 180;
    var radius = 80;
    var thickness = 24;
    var root = svg('svg', {
      width: size,
      height: size,
      viewBox: '0 0 ' + size + ' ' + size,
      role: 'img',
      'aria-label': 'status breakdown',
    });
    var center = size / 2;
    var statuses = statusesIn(totals);
    if (!total) {
      svg(
        'circle',
        {
          cx: center,
          cy: center,
          r: radius - thickness / 2,
          fill: 'none',
          stroke: '#eef0f3',
          'stroke-width': thickness,
        },
        root,
      );
    } else {
      var angle = -Math.PI / 2;
      statuses.forEach(function (status) {
        var share = totals[status] / total;
        if (share >= 0.9999) {
          svg(
            'circle',
            {
              cx: center,
              cy: center,
              r: radius - thickness / 2,
              fill: 'none',
              stroke: colorOf(status),
              'stroke-width': thickness,
            },
            root,
          );
          return;
        }
        var end = angle + share * 2 * Math.PI;
        var r = radius - thickness / 2;
        var path = svg(
          'path',
          {
            d:
              'M ' +
              (center + r * Math.cos(angle)) +
              ' ' +
              (center + r * Math.sin(angle)) +
              ' A ' +
              r +
              ' ' +
              r +
              ' 0 ' +
              (share > 0.5 ? 1 : 0) +
              ' 1 ' +
              (center + r * Math.cos(end)) +
              ' ' +
              (center + r * Math.sin(end)),
            fill: 'none',
            stroke: colorOf(status),
            'stroke-width': thickness,
          },
          root,
        );
        svg('title', {}, path).textContent = status + ': ' + totals[status];
        angle = end;
      });
    }
    var label = svg(
      'text',
      { x: center, y: center - 2, 'text-anchor': 'middle', 'font-size': 26, 'font-weight': 650, fill: '#1c2230' },
      root,
    );
    label.textContent = total.toLocaleString();
    svg(
      'text',
      { x: center, y: center + 18, 'text-anchor': 'middle', 'font-size': 12, fill: '#6b7385' },
      root,
    ).textContent = 'tasks';
    $('#donut').replaceChildren(root);
    legend($('#donut-legend'), statuses, totals, total);
  }

  function legend(container, statuses, counts, total) {
    container.replaceChildren.apply(
      container,
      statuses.map(function (status) {
        var item = el('span', 'legend-item');
        var swatch = el('span', 'swatch');
        swatch.style.background = colorOf(status);
        item.append(swatch, status.charAt(0) + status.slice(1).toLowerCase());
        if (counts)
          item.append(
            el(
              'span',
              'count',
              counts[status].toLocaleString() + ' · ' + ((100 * counts[status]) / total).toFixed(1) + '%',
            ),
          );
        return item;
      }),
    );
  }

  // --- tasks -------------------------------------------------------------------------------------

  function statusBadge(status) {
    var badge = el('span', 'status', status);
    badge.style.color = colorOf(status);
    badge.style.background = colorOf(status) + '1a';
    return badge;
  }

  function parse(text) {
    if (typeof text !== 'string') return text;
    try {
      return JSON.parse(text);
    } catch (error) {
      return text;
    }
  }

  /** The user of a task: the plain messages' kwargs carry user_id; a Celery task's args its argsrepr. */
  function userOf(task) {
    var kwargs = parse(task.task_kwargs);
    if (kwargs && typeof kwargs === 'object' && kwargs.user_id !== undefined) return 'user ' + kwargs.user_id;
    var args = parse(task.task_args);
    if (typeof args === 'string' && args !== '[]' && args !== '()') return args;
    if (typeof kwargs === 'string' && kwargs !== '{}') return kwargs;
    return '–';
  }

  function durationOf(task) {
    var ms = new Date(task.date_done) - new Date(task.date_created);
    return ms >= 0 ? formatMs(ms) : '–';
  }

  function renderTasks(tasks) {
    var rows = tasks.map(function (task) {
      var row = el('tr');
      row.dataset.taskId = task.task_id;
      if (task.task_id === selectedTask) row.className = 'selected';
      var status = el('td');
      status.append(statusBadge(task.status));
      var id = el('td', 'mono', task.task_id.length > 13 ? task.task_id.slice(0, 8) + '…' : task.task_id);
      id.title = task.task_id;
      var done = new Date(task.date_done);
      var finished = el('td', null, done.toLocaleTimeString());
      finished.title = done.toLocaleString();
      row.append(
        status,
        id,
        el('td', null, task.task_name || '–'),
        el('td', null, userOf(task)),
        el('td', 'muted', task.worker || '–'),
        finished,
        el('td', 'num', durationOf(task)),
      );
      row.addEventListener('click', function () {
        openTask(task.task_id);
      });
      return row;
    });
    $('#tasks tbody').replaceChildren.apply($('#tasks tbody'), rows);
    $('#tasks-empty').hidden = tasks.length > 0;
  }

  function openTask(taskId) {
    selectedTask = taskId;
    Array.from($('#tasks tbody').children).forEach(function (row) {
      row.classList.toggle('selected', row.dataset.taskId === taskId);
    });
    api('/api/tasks/' + encodeURIComponent(taskId)).then(renderDetail, function (error) {
      if (error.status) return showLogin(error.message);
      $('#detail-body').replaceChildren(el('p', 'error', error.message));
    });
  }

  function pretty(value) {
    var parsed = parse(value);
    return typeof parsed === 'string' ? parsed : JSON.stringify(parsed, null, 2);
  }

  function renderDetail(task) {
    var fields = [
      ['Task id', task.task_id],
      ['Status', null],
      ['Name', task.task_name],
      ['Worker', task.worker],
      ['Received', task.date_created && new Date(task.date_created).toLocaleString()],
      ['Started', task.date_started && new Date(task.date_started).toLocaleString()],
      ['Finished', new Date(task.date_done).toLocaleString()],
      ['Took', durationOf(task)],
    ];
    var list = el('dl');
    fields.forEach(function (field) {
      if (field[0] !== 'Status' && !field[1]) return;
      var value = el('dd', field[0] === 'Task id' ? 'mono' : null, field[1]);
      if (field[0] === 'Status') value.append(statusBadge(task.status));
      list.append(el('dt', null, field[0]), value);
    });
    var parts = [list];
    var section = function (title, text, className) {
      parts.push(el('h3', null, title));
      var block = el('pre', className, text);
      block.dataset.section = title.toLowerCase();
      parts.push(block);
    };
    section('Args', pretty(task.task_args));
    section('Kwargs', pretty(task.task_kwargs));
    section('Result', pretty(task.result));
    if (task.traceback) section('Traceback', task.traceback, 'traceback');
    $('#detail-body').replaceChildren.apply($('#detail-body'), parts);
    $('#task-detail').hidden = false;
    $('.tasks-area').classList.add('with-detail');
  }

  function closeDetail() {
    selectedTask = null;
    $('#task-detail').hidden = true;
    $('.tasks-area').classList.remove('with-detail');
    Array.from($('#tasks tbody').children).forEach(function (row) {
      row.classList.remove('selected');
    });
  }

  // --- wiring ------------------------------------------------------------------------------------

  $('#login-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var candidate = $('#admin-token').value.trim();
    if (candidate) signIn(candidate);
  });
  $('#sign-out').addEventListener('click', signOut);
  $('#window').addEventListener('change', refresh);
  $('#detail-close').addEventListener('click', closeDetail);
  $('#filters').addEventListener('submit', function (event) {
    event.preventDefault();
    refresh();
  });
  $('#filter-status').addEventListener('change', refresh);
  var typing = null;
  ['#filter-name', '#filter-user'].forEach(function (selector) {
    $(selector).addEventListener('input', function () {
      clearTimeout(typing);
      typing = setTimeout(refresh, 300);
    });
  });
  window.addEventListener('resize', function () {
    if (lastOk) refresh();
  });

  if (token) signIn(token);
  else showLogin('');
})();
