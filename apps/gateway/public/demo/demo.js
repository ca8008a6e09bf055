// The demo page: a token, a WebSocket (or with ?transport=sse a Server-Sent Events stream) through
// the client SDK (window.NotifyClient), the user's inbox over REST, and an unread badge that follows
// read receipts from every tab.
(function () {
  'use strict';
  var $ = function (selector) {
    return document.querySelector(selector);
  };
  var TOKEN_KEY = 'notify.demo.token';
  var STATUS_PILL = { connecting: 'connecting', connected: 'open', reconnecting: 'reconnecting' };
  var STATUS_TEXT = { connecting: 'connecting…', reconnecting: 'reconnecting…', closed: 'disconnected' };
  var TERMINAL = { closed: true, unauthorized: true, failed: true };
  var TRANSPORTS = { websocket: true, sse: true, auto: true };
  // ?transport=websocket|sse|auto picks the SDK's transport (default auto).
  var requestedTransport = new URLSearchParams(location.search).get('transport');
  var transport = TRANSPORTS[requestedTransport] ? requestedTransport : 'auto';

  var client = null;
  var inbox = null;
  var token = null;
  var items = new Map(); // id -> { element, read }
  var minted = null; // { token, userId } of the last token the mint gave
  var expiresAt = null; // ms since the epoch: when the socket's token expires
  var lifetimeTimer = null;

  /** The `exp` of a JWT, in ms; null when it cannot be read. */
  function tokenExpiry(jwt) {
    try {
      var payload = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
      return typeof payload.exp === 'number' ? payload.exp * 1000 : null;
    } catch (error) {
      return null;
    }
  }

  function showLifetime() {
    var text = '';
    if (expiresAt !== null) {
      var seconds = Math.max(0, Math.round((expiresAt - Date.now()) / 1000));
      text =
        'Token expires in ' +
        Math.floor(seconds / 60) +
        ':' +
        String(seconds % 60).padStart(2, '0') +
        (minted && client && minted.refreshing
          ? client.transport === 'sse'
            ? ' · the stream then ends and reconnects with a new token'
            : ' · refreshed in place before then'
          : ' · the connection closes then (4001): paste a new token');
    }
    $('#token-lifetime').textContent = text;
  }

  function mintToken(userId, ttlSeconds) {
    return fetch('/api/demo/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user_id: userId, ttl_seconds: ttlSeconds }),
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error([].concat(body.message).join('; '));
        return body;
      });
    });
  }

  /**
   * A minted token is refreshed in place: the SDK asks this function for a new one a little before
   * expiry and sends it in a `refresh` frame, so the socket stays open. A pasted token stays as it is.
   */
  function tokenOption(pasted) {
    if (!minted || minted.token !== pasted) return pasted;
    var first = true;
    minted.refreshing = true;
    return function () {
      if (first) {
        first = false;
        return pasted;
      }
      return mintToken(minted.userId, minted.ttlSeconds).then(function (body) {
        minted.token = body.token;
        $('#token').value = body.token;
        sessionStorage.setItem(TOKEN_KEY, body.token);
        return body.token;
      });
    };
  }

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
    var unread = Math.max(0, count);
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
  }

  function markRead(id) {
    if (!inbox) return;
    inbox.markRead(id).then(applyReceipt, function (error) {
      log('mark read failed: ' + error.message);
    });
  }

  function connect() {
    token = $('#token').value.trim();
    if (!token) return showError('Paste an access token first.');
    showError('');
    sessionStorage.setItem(TOKEN_KEY, token);
    $('#connect').disabled = true;
    setStatus('connecting', 'connecting…');

    // The socket first, then the inbox's first page: everything after the socket's position comes
    // live, everything up to it is in the page, and an id in both is shown once.
    client = new NotifyClient.NotificationClient({
      url: '/ws/notifications/',
      token: tokenOption(token),
      transport: transport,
    });
    expiresAt = tokenExpiry(token);
    clearInterval(lifetimeTimer);
    lifetimeTimer = setInterval(showLifetime, 1000);
    showLifetime();
    client.on('refreshed', function (refreshed) {
      expiresAt = Date.parse(refreshed.expires_at);
      log('token refreshed in place; now expires at ' + new Date(expiresAt).toLocaleTimeString());
      showLifetime();
    });
    inbox = new NotifyClient.Inbox(client);
    inbox.onUnreadCount(setUnread); // the server's count from every receipt, plus one per new notification
    client.on('notification', function (notification) {
      render(notification, false, true);
      log('notification #' + notification.id);
    });
    client.on('read', function (receipt) {
      applyReceipt(receipt);
      log('read ' + (receipt.all ? 'all' : receipt.ids.join(', ')) + ' → ' + receipt.unread_count + ' unread');
    });
    client.on('state', function (change) {
      setStatus(STATUS_PILL[change.current] || 'closed', STATUS_TEXT[change.current] || change.current);
      log('state ' + change.previous + ' → ' + change.current + ' (' + change.reason + ')');
      if (TERMINAL[change.current]) disconnected();
    });
    client.on('connected', function (event) {
      log(
        (event.reconnected ? 'reconnected' : 'connected') +
          ' as user ' +
          event.user_id +
          ' over ' +
          event.transport +
          ' (' +
          event.connection_id.slice(0, 8) +
          ')',
      );
    });
    client.on('gap', function (gap) {
      log(
        'missed more than ' +
          gap.window +
          ' notifications; fetched ' +
          gap.filled +
          (gap.complete ? '' : ' (reload for the rest)'),
      );
    });
    client.on('error', function (error) {
      log('error ' + error.code + ': ' + error.message);
    });
    client
      .connect()
      .then(function (connected) {
        $('#disconnect').disabled = false;
        $('#mark-all').disabled = false;
        $('#session').hidden = false;
        $('#session-user').textContent = connected.user_id;
        $('#publish-hint').textContent = 'npm run cli -- notify ' + connected.user_id + ' \'{"text":"hello"}\'';
        return inbox.list({ limit: 50 });
      })
      .then(function (page) {
        page.results.forEach(function (notification) {
          render(notification, notification.read_at !== null, false);
        });
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
    clearInterval(lifetimeTimer);
    expiresAt = null;
    showLifetime();
    if (inbox) inbox.dispose();
    if (client) client.close();
    client = null;
    inbox = null;
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
    if (inbox)
      inbox.markAllRead().then(applyReceipt, function (error) {
        log('mark all read failed: ' + error.message);
      });
  });
  $('#mint').addEventListener('click', function () {
    mintToken($('#mint-user').value.trim(), Number($('#mint-ttl').value))
      .then(function (body) {
        $('#token').value = body.token;
        minted = { token: body.token, userId: body.user_id, ttlSeconds: body.expires_in };
        showError('');
        log('minted a ' + body.expires_in + '-second token for user ' + body.user_id);
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
