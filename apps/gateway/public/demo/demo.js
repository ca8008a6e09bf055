// The demo page: a token, a WebSocket through the client SDK (window.NotifyClient), the user's
// inbox over REST, and an unread badge that follows read receipts from every tab.
(function () {
  'use strict';
  var $ = function (selector) {
    return document.querySelector(selector);
  };
  var TOKEN_KEY = 'notify.demo.token';
  var wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws/notifications/';

  var client = null;
  var token = null;
  var unread = 0;
  var items = new Map(); // id -> { element, read }

  function log(text) {
    var item = document.createElement('li');
    var time = document.createElement('time');
    time.textContent = new Date().toLocaleTimeString();
    item.append(time, text);
    $('#log').prepend(item);
  }

  function setStatus(state, text) {
    var pill = $('#status');
    pill.className = 'pill pill-' + state;
    pill.textContent = text || state;
  }

  function setUnread(count) {
    unread = Math.max(0, count);
    var badge = $('#unread-badge');
    badge.textContent = unread > 99 ? '99+' : String(unread);
    badge.classList.toggle('badge-zero', unread === 0);
    document.title = (unread ? '(' + unread + ') ' : '') + 'Notifications demo · notification-service';
  }

  function showError(text) {
    var box = $('#connect-error');
    box.textContent = text || '';
    box.hidden = !text;
  }

  function describe(message) {
    if (typeof message === 'string') return message;
    if (message && typeof message === 'object') {
      if (typeof message.text === 'string') return message.text;
      if (typeof message.title === 'string') return message.title;
    }
    return JSON.stringify(message);
  }

  function render(notification, read, fresh) {
    if (items.has(notification.id)) return false;
    var element = document.createElement('li');
    element.className = 'notification' + (read ? '' : ' unread') + (fresh ? ' fresh' : '');
    element.dataset.id = String(notification.id);
    var dot = document.createElement('span');
    dot.className = 'dot';
    var body = document.createElement('div');
    body.className = 'body';
    var text = document.createElement('div');
    text.className = 'text';
    text.textContent = describe(notification.message);
    var meta = document.createElement('div');
    meta.className = 'meta';
    meta.textContent =
      '#' +
      notification.id +
      ' · ' +
      new Date(notification.created_at).toLocaleString() +
      ' · task ' +
      notification.task_id;
    body.append(text, meta);
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'small mark-read';
    button.textContent = 'Mark read';
    button.hidden = read;
    button.addEventListener('click', function () {
      markRead(notification.id);
    });
    element.append(dot, body, button);

    // Newest first: ids grow with every notification.
    var after = Array.from($('#notifications').children).find(function (other) {
      return Number(other.dataset.id) < notification.id;
    });
    $('#notifications').insertBefore(element, after || null);
    items.set(notification.id, { element: element, read: read });
    $('#empty').hidden = true;
    return true;
  }

  function markLocallyRead(id) {
    var item = items.get(id);
    if (!item || item.read) return;
    item.read = true;
    item.element.classList.remove('unread');
    item.element.querySelector('.mark-read').hidden = true;
  }

  function applyReceipt(receipt) {
    if (receipt.all)
      items.forEach(function (_, id) {
        markLocallyRead(id);
      });
    else receipt.ids.forEach(markLocallyRead);
    setUnread(receipt.unread_count);
  }

  function markRead(id) {
    if (!client) return;
    client.markRead(id).then(applyReceipt, function (error) {
      log('mark read failed: ' + error.message);
    });
  }

  function api(path, init) {
    return fetch(
      path,
      Object.assign({}, init, {
        headers: Object.assign({ authorization: 'Bearer ' + token }, (init && init.headers) || {}),
      }),
    ).then(function (response) {
      if (!response.ok) throw new Error(path + ' answered HTTP ' + response.status);
      return response.json();
    });
  }

  function connect() {
    token = $('#token').value.trim();
    if (!token) return showError('Paste an access token first.');
    showError('');
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#connect').disabled = true;
    setStatus('connecting', 'connecting…');

    // The inbox first (with read state), then the socket from its newest id: nothing in between is lost.
    Promise.all([api('/api/notifications?limit=50'), api('/api/notifications/unread_count')])
      .then(function (answers) {
        var page = answers[0];
        page.results.forEach(function (notification) {
          render(notification, notification.read_at !== null, false);
        });
        setUnread(answers[1].unread_count);
        var newest = page.results.reduce(function (max, n) {
          return Math.max(max, n.id);
        }, 0);
        client = new NotifyClient.NotificationClient({ url: wsUrl, token: token, since: newest });
        client.on('notification', function (notification) {
          if (render(notification, false, true)) setUnread(unread + 1);
          log('notification #' + notification.id);
        });
        client.on('read', function (receipt) {
          applyReceipt(receipt);
          log('read ' + (receipt.all ? 'all' : receipt.ids.join(', ')) + ' → ' + receipt.unread_count + ' unread');
        });
        client.on('connected', function (event) {
          setStatus('open', 'connected');
          log(
            (event.reconnected ? 'reconnected' : 'connected') +
              ' as user ' +
              event.user_id +
              ' (' +
              event.connection_id.slice(0, 8) +
              ')',
          );
        });
        client.on('disconnected', function (event) {
          if (event.willReconnect) {
            setStatus('reconnecting', 'reconnecting…');
            log('disconnected (' + event.code + '), retrying in ' + (event.delayMs / 1000).toFixed(1) + ' s');
          } else {
            setStatus('closed', 'disconnected');
            log('disconnected (' + event.code + (event.reason ? ': ' + event.reason : '') + ')');
            disconnected();
          }
        });
        client.on('gap', function (gap) {
          log('missed more than ' + gap.window + ' notifications; reload to see them all');
        });
        client.on('error', function (error) {
          log('error ' + error.code + ': ' + error.message);
        });
        return client.connect();
      })
      .then(function (connected) {
        $('#disconnect').disabled = false;
        $('#mark-all').disabled = false;
        $('#session').hidden = false;
        $('#session-user').textContent = connected.user_id;
        $('#publish-hint').textContent = 'npm run cli -- notify ' + connected.user_id + ' \'{"text":"hello"}\'';
      })
      .catch(function (error) {
        showError('Could not connect: ' + error.message + '. Is the token valid and unexpired?');
        setStatus('closed', 'not connected');
        disconnected();
      });
  }

  function disconnected() {
    $('#connect').disabled = false;
    $('#disconnect').disabled = true;
    $('#mark-all').disabled = true;
  }

  function disconnect() {
    if (client) client.close();
    client = null;
  }

  function reset() {
    disconnect();
    items.clear();
    $('#notifications').replaceChildren();
    $('#empty').hidden = false;
    setUnread(0);
  }

  $('#connect').addEventListener('click', function () {
    reset();
    connect();
  });
  $('#disconnect').addEventListener('click', disconnect);
  $('#mark-all').addEventListener('click', function () {
    if (client)
      client.markAllRead().then(applyReceipt, function (error) {
        log('mark all read failed: ' + error.message);
      });
  });
  $('#mint').addEventListener('click', function () {
    fetch('/api/demo/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: $('#mint-user').value.trim() }),
    })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error([].concat(body.message).join('; '));
          return body;
        });
      })
      .then(function (body) {
        $('#token').value = body.token;
        showError('');
        log('minted a 1 h token for user ' + body.user_id);
      })
      .catch(function (error) {
        showError('Could not mint a token: ' + error.message);
      });
  });

  // Why the gateway mints no token (GET /api/demo's reason), as the page tells the user.
  var MINT_OFF_NOTES = {
    switched_off: 'Set DEMO_TOKEN_MINT=true (never in production) to mint tokens here.',
    public_key:
      'This gateway holds only a public key (JWT_ALGORITHM RS*/ES*), so it cannot sign tokens: mint one with npm run cli -- token <user id> --private-key <key.pem>.',
  };

  function showMintBox(info) {
    $('#mint-box').hidden = false;
    $('#mint-form').hidden = !info.mint;
    if (!info.mint) $('#mint-note').textContent = MINT_OFF_NOTES[info.reason] || MINT_OFF_NOTES.switched_off;
  }

  // No answer (404 in production): the box stays hidden.
  fetch('/api/demo')
    .then(function (response) {
      return response.ok ? response.json() : null;
    })
    .then(
      function (info) {
        if (info) showMintBox(info);
      },
      function () {
        /* hidden */
      },
    );

  var saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) $('#token').value = saved;
  setUnread(0);
})();
