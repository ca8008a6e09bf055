// The dashboard's dead-letter view: lists /api/admin/dead_letters on demand (never polled: each
// listing holds the messages for a moment), and requeues or discards the chosen ones.
(function () {
  'use strict';
  var $ = function (selector) {
    return document.querySelector(selector);
  };
  var TOKEN_KEY = 'notify.admin.token';

  function call(method, path, body) {
    return fetch(path, {
      method: method,
      headers: {
        authorization: 'Bearer ' + sessionStorage.getItem(TOKEN_KEY),
        'content-type': 'application/json',
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) throw new Error('HTTP ' + response.status + ': ' + [].concat(answer.message).join('; '));
        return answer;
      });
    });
  }

  function cell(text, className) {
    var td = document.createElement('td');
    if (className) td.className = className;
    td.textContent = text === null || text === undefined ? '–' : String(text);
    return td;
  }

  function selectedIds() {
    return Array.from(document.querySelectorAll('#dead-letters tbody input[type=checkbox]:checked')).map(
      function (box) {
        return box.value;
      },
    );
  }

  function updateButtons() {
    var none = selectedIds().length === 0;
    $('#dl-requeue').disabled = none;
    $('#dl-discard').disabled = none;
  }

  function render(listing) {
    var rows = [];
    listing.messages.forEach(function (message) {
      var row = document.createElement('tr');
      row.dataset.id = message.id;
      var pick = document.createElement('td');
      var box = document.createElement('input');
      box.type = 'checkbox';
      box.value = message.id;
      box.setAttribute('aria-label', 'select ' + message.id);
      box.addEventListener('change', updateButtons);
      pick.append(box);
      var when = message.dead_lettered_at ? new Date(message.dead_lettered_at).toLocaleString() : null;
      row.append(
        pick,
        cell(message.task_id || message.id, 'mono'),
        cell(message.reason),
        cell(when),
        cell(message.format),
        cell(message.size + ' B', 'num'),
      );
      rows.push(row);
      if (message.preview !== null) {
        var previewRow = document.createElement('tr');
        previewRow.className = 'preview';
        var previewCell = document.createElement('td');
        previewCell.colSpan = 6;
        var pre = document.createElement('pre');
        pre.dataset.section = 'preview';
        pre.textContent = message.preview;
        previewCell.append(pre);
        previewRow.append(previewCell);
        rows.push(previewRow);
      }
    });
    $('#dead-letters tbody').replaceChildren.apply($('#dead-letters tbody'), rows);
    $('#dl-select-all').checked = false;
    $('#dl-status').textContent =
      listing.total === 0
        ? 'No dead letters in ' + listing.queue + '.'
        : listing.total +
          ' in ' +
          listing.queue +
          (listing.total > listing.messages.length ? ', the first ' + listing.messages.length + ' shown.' : '.');
    updateButtons();
  }

  function load() {
    $('#dl-status').textContent = 'Loading…';
    return call('GET', '/api/admin/dead_letters?limit=100&reveal=' + $('#dl-reveal').checked).then(render, showError);
  }

  function showError(error) {
    $('#dl-status').textContent = 'Failed: ' + error.message;
  }

  function act(action, selection, verb) {
    return call('POST', '/api/admin/dead_letters/' + action, selection)
      .then(function (answer) {
        return load().then(function () {
          var count = answer.requeued !== undefined ? answer.requeued : answer.discarded;
          $('#dl-status').textContent = verb + ' ' + count + '. ' + $('#dl-status').textContent;
        });
      })
      .catch(showError);
  }

  $('#dl-load').addEventListener('click', load);
  $('#dl-reveal').addEventListener('change', load);
  $('#dl-select-all').addEventListener('change', function () {
    var checked = $('#dl-select-all').checked;
    document.querySelectorAll('#dead-letters tbody input[type=checkbox]').forEach(function (box) {
      box.checked = checked;
    });
    updateButtons();
  });
  $('#dl-requeue').addEventListener('click', function () {
    act('requeue', { ids: selectedIds() }, 'Requeued');
  });
  $('#dl-requeue-all').addEventListener('click', function () {
    if (window.confirm('Requeue every dead letter to the task queue?')) act('requeue', { all: true }, 'Requeued');
  });
  $('#dl-discard').addEventListener('click', function () {
    if (window.confirm('Discard ' + selectedIds().length + ' message(s) for good?'))
      act('discard', { ids: selectedIds() }, 'Discarded');
  });
})();
